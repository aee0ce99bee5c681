CREATE TABLE `capture_snapshot_series` (
	`capture_id` integer NOT NULL,
	`stat` text NOT NULL,
	`type` text NOT NULL,
	`label` text NOT NULL,
	`unit` text NOT NULL,
	`complete` integer NOT NULL,
	`datapoints` text NOT NULL,
	PRIMARY KEY(`capture_id`, `stat`, `type`),
	FOREIGN KEY (`capture_id`) REFERENCES `captures`(`id`) ON UPDATE no action ON DELETE cascade
);
--> statement-breakpoint
ALTER TABLE `capture_snapshots` ADD `complete` integer DEFAULT true NOT NULL;--> statement-breakpoint
-- Each stored series of the one-value payload becomes its own row, its points [epoch s, value].
INSERT OR IGNORE INTO `capture_snapshot_series` (`capture_id`, `stat`, `type`, `label`, `unit`, `complete`, `datapoints`)
SELECT s.`capture_id`, st.key, json_extract(se.value, '$.type'), coalesce(json_extract(se.value, '$.label'), json_extract(se.value, '$.type')),
  coalesce(json_extract(se.value, '$.unit'), 'None'), coalesce(json_extract(se.value, '$.complete'), 1), (SELECT json_group_array(json_array(unixepoch(json_extract(p.value, '$.timestamp')), json_extract(p.value, '$.value'))) FROM json_each(se.value, '$.datapoints') p)
FROM `capture_snapshots` s, json_each(s.`payload`, '$.stats') st, json_each(st.value) se
WHERE json_valid(s.`payload`) AND json_extract(se.value, '$.type') IS NOT NULL;--> statement-breakpoint
UPDATE `capture_snapshots` SET `complete` = coalesce(json_extract(`payload`, '$.complete'), 1) WHERE json_valid(`payload`);--> statement-breakpoint
ALTER TABLE `capture_snapshots` DROP COLUMN `payload`;