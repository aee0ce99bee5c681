CREATE TABLE `rate_limits` (
	`user_id` text NOT NULL,
	`policy` text NOT NULL,
	`window_start` integer NOT NULL,
	`count` integer NOT NULL,
	PRIMARY KEY(`user_id`, `policy`, `window_start`)
);
