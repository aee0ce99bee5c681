CREATE TABLE `environment_capture_counts` (
	`env_id` integer PRIMARY KEY NOT NULL,
	`captures` integer DEFAULT 0 NOT NULL,
	`live` integer DEFAULT 0 NOT NULL
);
