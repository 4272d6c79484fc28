/**
 * How often the event loop's delay is sampled (prom-client's `nodejs_eventloop_lag_*` gauges).
 * Each sample is the time between two ticks, this interval included.
 */
export const EVENT_LOOP_SAMPLING_MS = 10;
