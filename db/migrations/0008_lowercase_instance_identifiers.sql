-- RDS instance identifiers are case-insensitive (RDS stores them in lower case); the API now
-- lower-cases them on input, and rows stored as sent are normalised so that one instance is one
-- string when it is bound once per credential source (issue 17 review item 2).
UPDATE `environments` SET `db_instance_identifier` = lower(`db_instance_identifier`);
