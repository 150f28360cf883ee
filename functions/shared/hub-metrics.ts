/**
 * The hub's own metrics (namespace `Switchyard`, Powertools Metrics in embedded metric format): their names
 * and exact dimension sets, shared by the functions that emit them and by the alarms and dashboard that read
 * them (a CloudWatch alarm matches a metric only with all of its dimensions). `service` is the emitting
 * function's `POWERTOOLS_SERVICE_NAME`; metrics several functions emit (downstream calls) leave it out, so one
 * alarm or graph covers every caller (`metrics.singleMetric()` with the default dimensions cleared). Each distinct set of dimension values is one custom metric
 * (https://aws.amazon.com/cloudwatch/pricing/): dimensions are sources, event types, reasons and systems,
 * never ids.
 */

/** Dimension names. */
export const Dimension = {
  service: 'service',
  /** The source name, e.g. `stripe`. */
  source: 'source',
  /** The vendor's event type, e.g. `checkout.session.completed`, or the canonical detail type. */
  eventType: 'eventType',
  /** Why a webhook was rejected: a `RejectReason`. */
  reason: 'reason',
  /** The company's system called: `accounting`, `crm`, `email`. */
  downstream: 'downstream',
  /** A downstream call's outcome: a `CallOutcome`. */
  outcome: 'outcome',
  /** A flow's name, e.g. `order-paid`. */
  flow: 'flow',
} as const;

/** Why the ingest function refused a webhook (4xx). */
export const RejectReason = {
  /** Missing, malformed or wrong signature (401). */
  signature: 'signature',
  /** Signed timestamp outside the tolerance (401). */
  stale: 'stale',
  /** Body over the source's limit (413). */
  size: 'size',
  /** Content-Type the scheme does not accept (415). */
  mediaType: 'media_type',
  /** Not UTF-8, not strict JSON or form, no event id or type (400). */
  payload: 'payload',
} as const;
export type RejectReason = (typeof RejectReason)[keyof typeof RejectReason];

/** Outcome of one downstream call, as the connector classified it (functions/connectors/http.ts). */
export const CallOutcome = {
  ok: 'ok',
  /** `TransientUpstreamError`: 408, 429, 5xx, timeout, network, unreadable 2xx. */
  transient: 'transient',
  /** `TerminalUpstreamError`: another 4xx; or a 2xx the connector cannot use (e.g. no invoice id). */
  terminal: 'terminal',
  /** Refused by the guard without calling: circuit open or rate spent. */
  refused: 'refused',
} as const;
export type CallOutcome = (typeof CallOutcome)[keyof typeof CallOutcome];

/**
 * Metric names, each with its unit and dimension set. Counts are per occurrence (Sum over a period is the
 * number).
 */
export const HubMetric = {
  /** Count, `[service, source]`: a request reached the ingest function for a known source. */
  WebhookReceived: 'WebhookReceived',
  /** Count, `[service, source, reason]`: a request was refused with a 4xx (reason: `RejectReason`). */
  WebhookRejected: 'WebhookRejected',
  /** Count, `[service, source, eventType]`: an event was stored in the inbox and answered 2xx. */
  WebhookEnqueued: 'WebhookEnqueued',
  /** Count, `[service, source]`: an event could not be stored and was answered 503. */
  EnqueueFailed: 'EnqueueFailed',
  /** Milliseconds, `[service, source]`: time from the handler's start to its answer, for accepted events. */
  AckLatency: 'AckLatency',
  /** Count, `[service, source, eventType]`: the router dropped a redelivery of an event it had routed. */
  DuplicateDropped: 'DuplicateDropped',
  /** Count, `[service, source, eventType]`: the router put a canonical event on the bus. */
  EventRouted: 'EventRouted',
  /** Count, `[service, source, eventType]`: no mapper route took the event; it went out as `webhook.unrouted`. */
  EventUnrouted: 'EventUnrouted',
  /** Count, `[service, flow]`: the starter started an execution. */
  FlowStarted: 'FlowStarted',
  /** Count, `[service, flow]`: the starter found the execution already started (a redelivery). */
  FlowStartDuplicate: 'FlowStartDuplicate',
  /** Count, `[downstream, outcome]`: one call to a company system (outcome: `CallOutcome`). */
  DownstreamCall: 'DownstreamCall',
  /** Milliseconds, `[downstream]`: duration of a call that reached the system. */
  DownstreamLatency: 'DownstreamLatency',
  /** Count, `[service]`: event ledger entries that could not be written (functions/shared/ledger.ts). */
  LedgerWriteFailed: 'LedgerWriteFailed',
} as const;
