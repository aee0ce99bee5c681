ALTER TABLE `captures` ADD `snapshot_lease_owner` text;--> statement-breakpoint
ALTER TABLE `captures` ADD `snapshot_lease_until` integer;