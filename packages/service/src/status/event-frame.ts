/**
 * An activity as `/events` sends it: one SSE frame (`event: <type>` and one `data:` line of JSON),
 * its values masked as a service's data is on `/status`, and no `data:` line longer than
 * `maxEventBytes`: an event whose JSON is longer has its value replaced by a marker that says it
 * was too large and how large (see `tooLargeMarker`).
 */
import type { Activity } from "../activity.ts";
import type { Frame } from "./event-queue.ts";
import { maskData, maskWireValue } from "./mask.ts";
import { wireReplacer } from "./wire.ts";

/** The field that carries an activity's value, the part that can be of any size. */
const PAYLOAD: Partial<Record<Activity["type"], string>> = {
  "watcher-value": "value",
  event: "data",
  data: "changed",
  error: "message",
  "process-exit": "exit",
};

/**
 * The values that come from a service's own code, masked before they leave the process: an error
 * message is free text too (a failed fetch's URL, a database URL, an echoed header).
 */
const MASKED = new Set<Activity["type"]>(["watcher-value", "event", "error"]);

/** What replaces a value whose event is bigger than `maxEventBytes`. */
export function tooLargeMarker(bytes: number, maxEventBytes: number): string {
  return `[too large: ${bytes} bytes of JSON, over maxEventBytes (${maxEventBytes})]`;
}

const encoder = new TextEncoder();

/**
 * Makes frames, each activity's once however many clients are connected (masking a service's data
 * and encoding a large value are not free); a frame goes with its activity.
 */
export function frameMaker(maxEventBytes: number): (activity: Activity) => Frame {
  const made = new WeakMap<Activity, Frame>();
  return (activity) => {
    let frame = made.get(activity);
    if (frame === undefined) {
      frame = makeFrame(activity, maxEventBytes);
      made.set(activity, frame);
    }
    return frame;
  };
}

/** The frame of an event that is not an activity ("hello", "dropped"). */
export function plainFrame(event: string, data: unknown): Frame {
  return { bytes: encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`) };
}

function makeFrame(activity: Activity, maxEventBytes: number): Frame {
  const field = PAYLOAD[activity.type];
  // Measured before masking, which then only looks at what fits: a 1 MB value is not walked.
  const json = toJson(onTheWire(activity));
  let bytes = encoder.encode(json);
  if (bytes.byteLength <= maxEventBytes && field !== undefined && MASKED.has(activity.type)) {
    const wire = JSON.parse(json) as Record<string, unknown>;
    wire[field] = maskWireValue(wire[field], maxEventBytes);
    bytes = encoder.encode(JSON.stringify(wire));
  }
  // Checked again after masking ("***" for a number is longer) and after the marker (long names).
  if (bytes.byteLength > maxEventBytes) {
    const marker = tooLargeMarker(bytes.byteLength, maxEventBytes);
    const small = field ? toJson({ ...activity, [field]: marker } as Activity) : "";
    // Without a value field, or when names alone make it big: the type, service and time.
    bytes = encoder.encode(
      small !== "" && encoder.encode(small).byteLength <= maxEventBytes
        ? small
        : JSON.stringify({
            type: activity.type,
            service: activity.service,
            at: activity.at,
            tooLarge: marker,
          }),
    );
  }
  // JSON has no raw line breaks, so the whole of it is one `data:` line.
  const head = encoder.encode(`event: ${activity.type}\ndata: `);
  const frame = new Uint8Array(head.byteLength + bytes.byteLength + 2);
  frame.set(head);
  frame.set(bytes, head.byteLength);
  frame.set([10, 10], head.byteLength + bytes.byteLength);
  return { bytes: frame };
}

/** A service's data is masked and bounded before it leaves the process, as on `/status`. */
function onTheWire(activity: Activity): Activity {
  if (activity.type !== "data") return activity;
  return { ...activity, changed: maskData(activity.changed) };
}

/**
 * JSON for an event, values as `toWire` makes them (bigint as text, Map, Set, errors readable);
 * a value that still does not serialise (a cycle, a getter that throws) is said to be so.
 */
function toJson(activity: Activity): string {
  try {
    return JSON.stringify(activity, wireReplacer);
  } catch {
    const field = PAYLOAD[activity.type] ?? "value";
    return JSON.stringify({ ...activity, [field]: "[not serialisable]" });
  }
}
