ALTER TABLE `capture_load_groups` ADD `sql_id` text;--> statement-breakpoint
ALTER TABLE `capture_load_groups` ADD `full_statement` text;