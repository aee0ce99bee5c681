-- environment_capture_counts follows every write to captures, in the writing transaction: the
-- capture quotas read it instead of counting (db/captures.ts). live = stored status not DONE/FAILED.
INSERT INTO `environment_capture_counts` (`env_id`, `captures`, `live`)
SELECT `env_id`, count(*), sum(`status` NOT IN ('DONE', 'FAILED')) FROM `captures` GROUP BY `env_id`;
--> statement-breakpoint
CREATE TRIGGER `captures_count_insert` AFTER INSERT ON `captures` BEGIN
  INSERT INTO `environment_capture_counts` (`env_id`, `captures`, `live`)
  VALUES (new.`env_id`, 1, new.`status` NOT IN ('DONE', 'FAILED'))
  ON CONFLICT (`env_id`) DO UPDATE SET `captures` = `captures` + 1, `live` = `live` + excluded.`live`;
END;
--> statement-breakpoint
CREATE TRIGGER `captures_count_delete` AFTER DELETE ON `captures` BEGIN
  UPDATE `environment_capture_counts`
  SET `captures` = `captures` - 1, `live` = `live` - (old.`status` NOT IN ('DONE', 'FAILED'))
  WHERE `env_id` = old.`env_id`;
END;
--> statement-breakpoint
CREATE TRIGGER `captures_count_update` AFTER UPDATE OF `env_id`, `status` ON `captures`
WHEN old.`env_id` IS NOT new.`env_id`
  OR (old.`status` NOT IN ('DONE', 'FAILED')) IS NOT (new.`status` NOT IN ('DONE', 'FAILED'))
BEGIN
  UPDATE `environment_capture_counts`
  SET `captures` = `captures` - 1, `live` = `live` - (old.`status` NOT IN ('DONE', 'FAILED'))
  WHERE `env_id` = old.`env_id`;
  INSERT INTO `environment_capture_counts` (`env_id`, `captures`, `live`)
  VALUES (new.`env_id`, 1, new.`status` NOT IN ('DONE', 'FAILED'))
  ON CONFLICT (`env_id`) DO UPDATE SET `captures` = `captures` + 1, `live` = `live` + excluded.`live`;
END;
--> statement-breakpoint
CREATE TRIGGER `environments_count_delete` AFTER DELETE ON `environments` BEGIN
  DELETE FROM `environment_capture_counts` WHERE `env_id` = old.`id`;
END;
