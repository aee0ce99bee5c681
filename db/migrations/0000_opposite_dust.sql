CREATE TABLE `capture_snapshots` (
	`capture_id` integer PRIMARY KEY NOT NULL,
	`period` integer NOT NULL,
	`start` integer NOT NULL,
	`end` integer NOT NULL,
	`payload` text NOT NULL,
	`taken_at` integer NOT NULL,
	FOREIGN KEY (`capture_id`) REFERENCES `captures`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE TABLE `captures` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`env_id` integer NOT NULL,
	`owner_id` text NOT NULL,
	`name` text NOT NULL,
	`status` text NOT NULL,
	`scheduled_start` integer,
	`start` integer,
	`end` integer,
	`duration` integer,
	`reason` text,
	`snapshot_attempts` integer DEFAULT 0 NOT NULL,
	`snapshot_error` text,
	`snapshot_next_attempt_at` integer,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL,
	FOREIGN KEY (`env_id`) REFERENCES `environments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE UNIQUE INDEX `captures_name_per_env` ON `captures` (`env_id`,`name`);--> statement-breakpoint
CREATE INDEX `captures_by_env_newest` ON `captures` (`env_id`,"id" desc);--> statement-breakpoint
CREATE INDEX `captures_by_status` ON `captures` (`status`);--> statement-breakpoint
CREATE TABLE `environments` (
	`id` integer PRIMARY KEY AUTOINCREMENT NOT NULL,
	`name` text NOT NULL,
	`region` text NOT NULL,
	`db_instance_identifier` text NOT NULL,
	`owner_id` text NOT NULL,
	`access_key_id` text,
	`secret_ciphertext` text,
	`created_at` integer NOT NULL,
	`updated_at` integer NOT NULL
);
--> statement-breakpoint
CREATE UNIQUE INDEX `environments_name_unique` ON `environments` (`name`);--> statement-breakpoint
CREATE TABLE `memberships` (
	`env_id` integer NOT NULL,
	`user_id` text NOT NULL,
	`role` text NOT NULL,
	`created_at` integer NOT NULL,
	PRIMARY KEY(`env_id`, `user_id`),
	FOREIGN KEY (`env_id`) REFERENCES `environments`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
CREATE INDEX `memberships_by_user` ON `memberships` (`user_id`,`env_id`);