/**
 * An activity as `/events` sends it: one SSE frame (`event: <type>` and one `data:` line of JSON),
 * a service's data masked and bounded as on `/status`, and no frame bigger than `maxEventBytes`:
 * an event whose JSON is bigger has its value replaced by a marker that says it was too large and
 * how large (see `tooLargeMarker`).
 */
import type { Activity } from "../activity.ts";
import type { Frame } from "./event-queue.ts";
import { maskData } from "./mask.ts";
import { wireReplacer } from "./wire.ts";

/** The field that carries an activity's value, the part that can be of any size. */
const PAYLOAD: Partial<Record<Activity["type"], string>> = {
  "watcher-value": "value",
  event: "data",
  data: "changed",
  error: "message",
  "process-exit": "exit",
};

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
  const wire = onTheWire(activity);
  let bytes = encoder.encode(toJson(wire));
  if (bytes.byteLength > maxEventBytes) {
    const field = PAYLOAD[activity.type];
    const marker = tooLargeMarker(bytes.byteLength, maxEventBytes);
    // Without a value field, only names make it big: send the event's type, service and time.
    const small = field
      ? { ...wire, [field]: marker }
      : { type: activity.type, service: activity.service, at: activity.at, tooLarge: marker };
    bytes = encoder.encode(toJson(small as Activity));
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
    const field = "value" in activity ? "value" : "data";
    return JSON.stringify({ ...activity, [field]: "[not serialisable]" });
  }
}
