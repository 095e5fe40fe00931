/**
 * AWS list prices used by section 5 (us-east-1, on-demand, before free tiers), as read on
 * 2026-12-07. Sources: aws.amazon.com/step-functions/pricing, /lambda/pricing, /eventbridge/pricing,
 * /sqs/pricing, /dynamodb/pricing/on-demand (the figures there match the secondary pages that quote
 * them: see BENCHMARKS.md, section 5). Change them here when AWS does.
 */
export const PRICES = {
  asOf: "2026-12-07",
  region: "us-east-1",
  /** Standard workflows: per state transition ($0.025 per 1,000). */
  stateTransition: 0.025 / 1_000,
  /** Lambda: per request ($0.20 per 1M). */
  lambdaRequest: 0.2 / 1_000_000,
  /** Lambda x86: per GB-second of duration (first 6 billion GB-s a month). */
  lambdaGbSecond: 0.0000166667,
  /** EventBridge: per custom event put on a bus (64 KB chunks; AWS service events are free). */
  eventBridgeEvent: 1 / 1_000_000,
  /** SQS standard queue: per request (64 KB chunks; first 100 billion a month). */
  sqsRequest: 0.4 / 1_000_000,
  /** DynamoDB on-demand: per write request unit (1 KB; a transactional write takes 2 per KB). */
  dynamoWrite: 0.625 / 1_000_000,
  /** DynamoDB on-demand: per read request unit (4 KB strongly consistent). */
  dynamoRead: 0.125 / 1_000_000,
} as const;

