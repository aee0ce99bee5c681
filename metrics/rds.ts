/**
 * RDS DescribeDBInstances (Query protocol, API version 2014-10-31, service `rds`, XML answer),
 * for one instance: its DbiResourceId (Performance Insights' `Identifier`), status, engine and
 * whether Performance Insights is on with how many days it keeps. Shapes from botocore
 * data/rds/2014-10-31/service-2.json: DBInstanceMessage > DBInstances > DBInstance
 * { DbiResourceId, DBInstanceStatus, Engine, PerformanceInsightsEnabled,
 * PerformanceInsightsRetentionPeriod }; the error DBInstanceNotFound is HTTP 404.
 */
import type { AwsCredentials } from "../config.ts";
import { AwsError } from "./_cloudwatch_error.ts";
import { xmlBlocks, xmlField } from "./_aws_xml.ts";
import {
  awsCall,
  type AwsCallOptions,
  type AwsCallSettings,
  callSettings,
  type ServiceProtocol,
} from "./aws_call.ts";

/** The public RDS endpoint; `{region}` and `{dnsSuffix}` are filled per call. */
export const DEFAULT_RDS_ENDPOINT = "https://rds.{region}.{dnsSuffix}/";

/** What capwatch keeps of one DB instance. */
export interface InstanceInfo {
  dbiResourceId: string;
  /** DBInstanceStatus, e.g. `available`, `deleting`. */
  status: string;
  engine: string | null;
  performanceInsightsEnabled: boolean;
  /** Days; AWS's default is 7 (the free tier). Null when PI is off. */
  performanceInsightsRetentionDays: number | null;
}

/** An instance, or AWS's word that it does not exist. Other failures throw AwsError. */
export type DescribeOutcome =
  | { found: true; instance: InstanceInfo }
  | { found: false; message: string };

/** Reads one instance's description. */
export interface RdsClient {
  describeInstance(req: {
    region: string;
    credentials: AwsCredentials;
    dbInstanceIdentifier: string;
    /** A tighter time budget (ms) than the client's, retries included. */
    budgetMs?: number;
  }): Promise<DescribeOutcome>;
}

const RDS: ServiceProtocol<InstanceInfo | null> = {
  label: "RDS",
  signingName: "rds",
  contentType: "application/x-www-form-urlencoded; charset=utf-8",
  parse(text) {
    if (!/<DescribeDBInstancesResponse[\s>]/.test(text)) return undefined;
    const instance = xmlBlocks(text, "DBInstance")[0];
    if (instance === undefined) return null;
    const dbiResourceId = xmlField(instance, "DbiResourceId");
    const status = xmlField(instance, "DBInstanceStatus");
    if (!dbiResourceId || !status) return undefined;
    const enabled = xmlField(instance, "PerformanceInsightsEnabled") === "true";
    const retention = Number(xmlField(instance, "PerformanceInsightsRetentionPeriod") ?? NaN);
    return {
      dbiResourceId,
      status,
      engine: xmlField(instance, "Engine") ?? null,
      performanceInsightsEnabled: enabled,
      performanceInsightsRetentionDays: enabled
        ? (Number.isInteger(retention) && retention > 0 ? retention : 7)
        : null,
    };
  },
  readError(text) {
    const error = xmlBlocks(text, "Error")[0];
    if (error === undefined) return undefined;
    return { code: xmlField(error, "Code"), message: xmlField(error, "Message") };
  },
};

/** An RDS client with the CloudWatch client's retry policy (aws_call.ts). */
export function createRdsClient(options: AwsCallOptions = {}): RdsClient {
  const settings: AwsCallSettings = callSettings(options, DEFAULT_RDS_ENDPOINT);
  return {
    async describeInstance(req) {
      const body = new URLSearchParams({
        Action: "DescribeDBInstances",
        Version: "2014-10-31",
        DBInstanceIdentifier: req.dbInstanceIdentifier,
      }).toString();
      try {
        const instance = await awsCall(settings, RDS, {
          region: req.region,
          credentials: req.credentials,
          operation: "DescribeDBInstances",
          budgetMs: req.budgetMs,
        }, body);
        if (instance === null) {
          return { found: false, message: `RDS lists no instance ${req.dbInstanceIdentifier}` };
        }
        return { found: true, instance };
      } catch (error) {
        if (error instanceof AwsError && error.code === "DBInstanceNotFound") {
          return {
            found: false,
            message: `RDS DBInstanceNotFound: ${error.message}`,
          };
        }
        throw error;
      }
    },
  };
}
