/**
 * AWS partitions: which regions each one serves and its DNS suffix, so every AWS host capwatch
 * builds lands in the region's own partition (`cn-north-1` → `….amazonaws.com.cn`).
 *
 * Copied from the AWS SDK for JavaScript v3 partition table, `partitions.json` version 1.1, as
 * published in `@aws-sdk/core` 3.981.0 (npm, 2026-11-10), file
 * `dist-es/submodules/client/util-endpoints/lib/aws/partitions.js` (the same table as
 * aws/aws-sdk-js-v3 `packages/util-endpoints/src/lib/aws/partitions.json`), read 2026-11-28.
 * The `*-global` pseudo-regions of that table are left out: no regional endpoint exists for them.
 */

/** One partition: its id, DNS suffix, the regions it lists and the pattern of regions it serves. */
export interface Partition {
  id: string;
  dnsSuffix: string;
  regionRegex: RegExp;
  regions: readonly string[];
}

/** The partitions, in the SDK table's order of precedence for region patterns. */
export const PARTITIONS: readonly Partition[] = [
  {
    id: "aws",
    dnsSuffix: "amazonaws.com",
    regionRegex: /^(us|eu|ap|sa|ca|me|af|il|mx)-\w+-\d+$/,
    regions: [
      "af-south-1",
      "ap-east-1",
      "ap-east-2",
      "ap-northeast-1",
      "ap-northeast-2",
      "ap-northeast-3",
      "ap-south-1",
      "ap-south-2",
      "ap-southeast-1",
      "ap-southeast-2",
      "ap-southeast-3",
      "ap-southeast-4",
      "ap-southeast-5",
      "ap-southeast-6",
      "ap-southeast-7",
      "ca-central-1",
      "ca-west-1",
      "eu-central-1",
      "eu-central-2",
      "eu-north-1",
      "eu-south-1",
      "eu-south-2",
      "eu-west-1",
      "eu-west-2",
      "eu-west-3",
      "il-central-1",
      "me-central-1",
      "me-south-1",
      "me-west-1",
      "mx-central-1",
      "sa-east-1",
      "sa-west-1",
      "us-east-1",
      "us-east-2",
      "us-west-1",
      "us-west-2",
    ],
  },
  {
    id: "aws-cn",
    dnsSuffix: "amazonaws.com.cn",
    regionRegex: /^cn-\w+-\d+$/,
    regions: ["cn-north-1", "cn-northwest-1"],
  },
  {
    id: "aws-eusc",
    dnsSuffix: "amazonaws.eu",
    regionRegex: /^eusc-(de)-\w+-\d+$/,
    regions: ["eusc-de-east-1"],
  },
  {
    id: "aws-iso",
    dnsSuffix: "c2s.ic.gov",
    regionRegex: /^us-iso-\w+-\d+$/,
    regions: ["us-iso-east-1", "us-iso-west-1"],
  },
  {
    id: "aws-iso-b",
    dnsSuffix: "sc2s.sgov.gov",
    regionRegex: /^us-isob-\w+-\d+$/,
    regions: ["us-isob-east-1", "us-isob-west-1"],
  },
  {
    id: "aws-iso-e",
    dnsSuffix: "cloud.adc-e.uk",
    regionRegex: /^eu-isoe-\w+-\d+$/,
    regions: ["eu-isoe-west-1"],
  },
  {
    id: "aws-iso-f",
    dnsSuffix: "csp.hci.ic.gov",
    regionRegex: /^us-isof-\w+-\d+$/,
    regions: ["us-isof-east-1", "us-isof-south-1"],
  },
  {
    id: "aws-us-gov",
    dnsSuffix: "amazonaws.com",
    regionRegex: /^us-gov-\w+-\d+$/,
    regions: ["us-gov-east-1", "us-gov-west-1"],
  },
];

// The SDK patterns use \w, which also takes capitals and "_"; a region name goes into a host
// name, so only what real regions look like is taken: lowercase words and a 1–2 digit number.
const WELL_FORMED = /^[a-z]+(-[a-z]+)+-[1-9][0-9]?$/;
const MAX_REGION_LENGTH = 32;

/** The partition serving `region`: a listed region first, then a well-formed one its pattern matches. */
export function partitionOf(region: string): Partition | undefined {
  const listed = PARTITIONS.find((p) => p.regions.includes(region));
  if (listed) return listed;
  if (region.length > MAX_REGION_LENGTH || !WELL_FORMED.test(region)) return undefined;
  return PARTITIONS.find((p) => p.regionRegex.test(region));
}

/** Why `region` cannot be used (a sentence for a 400), or undefined when a partition serves it. */
export function regionProblem(region: string): string | undefined {
  if (partitionOf(region)) return undefined;
  return region.length <= MAX_REGION_LENGTH && WELL_FORMED.test(region)
    ? `no AWS partition serves this region; use a region such as us-east-1 or cn-north-1 ` +
      `(partitions: ${PARTITIONS.map((p) => p.id).join(", ")})`
    : "must be an AWS region name such as us-east-1 (lowercase words, then a number)";
}

/** Thrown when a host is asked for a region no partition serves. */
export class UnknownRegionError extends Error {
  override name = "UnknownRegionError";
  constructor(readonly region: string) {
    super(`No AWS partition serves the region ${JSON.stringify(region.slice(0, 64))}`);
  }
}

/**
 * The URL of an AWS service endpoint for `region`: `template` with `{region}` and `{dnsSuffix}`
 * replaced (default `https://{service}.{region}.{dnsSuffix}/`). Throws UnknownRegionError when
 * no partition serves the region, even for a template that does not use it (a fake, a VPC
 * endpoint), so a region is equally valid with and without an override.
 */
export function awsEndpoint(service: string, region: string, template?: string): string {
  const partition = partitionOf(region);
  if (!partition) throw new UnknownRegionError(region);
  return (template ?? `https://${service}.{region}.{dnsSuffix}/`)
    .replaceAll("{region}", region)
    .replaceAll("{dnsSuffix}", partition.dnsSuffix);
}
