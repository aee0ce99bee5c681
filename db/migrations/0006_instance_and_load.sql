CREATE TABLE `capture_load_groups` (
	`capture_id` integer NOT NULL,
	`group_by` text NOT NULL,
	`key` text NOT NULL,
	`rank` integer NOT NULL,
	`label` text NOT NULL,
	`stats` text,
	`statement` text,
	`datapoints` text NOT NULL,
	PRIMARY KEY(`capture_id`, `group_by`, `key`),
	FOREIGN KEY (`capture_id`) REFERENCES `captures`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `capture_load_snapshots` (
	`capture_id` integer NOT NULL,
	`group_by` text NOT NULL,
	`period` integer NOT NULL,
	`start` integer NOT NULL,
	`end` integer NOT NULL,
	`complete` integer NOT NULL,
	`taken_at` integer NOT NULL,
	`total` text NOT NULL,
	PRIMARY KEY(`capture_id`, `group_by`),
	FOREIGN KEY (`capture_id`) REFERENCES `captures`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `captures` ADD `instance_checked_at` integer;--> statement-breakpoint
ALTER TABLE `environments` ADD `dbi_resource_id` text;--> statement-breakpoint
ALTER TABLE `environments` ADD `engine` text;--> statement-breakpoint
ALTER TABLE `environments` ADD `pi_enabled` integer;--> statement-breakpoint
ALTER TABLE `environments` ADD `pi_retention_days` integer;--> statement-breakpoint
ALTER TABLE `environments` ADD `resolution_status` text;--> statement-breakpoint
ALTER TABLE `environments` ADD `resolution_reason` text;--> statement-breakpoint
ALTER TABLE `environments` ADD `resolved_at` integer;