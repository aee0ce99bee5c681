DROP INDEX `environments_name_unique`;--> statement-breakpoint
ALTER TABLE `environments` ADD `version` integer DEFAULT 1 NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX `environments_name_per_owner` ON `environments` (`owner_id`,`name`);