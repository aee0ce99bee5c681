ALTER TABLE `environments` ADD `role_arn` text;--> statement-breakpoint
ALTER TABLE `environments` ADD `external_id` text;