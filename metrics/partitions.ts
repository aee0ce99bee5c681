// The table sits beside config.ts (which checks AWS_REGION against it); metrics code imports it here.
export * from "../aws_partitions.ts";
