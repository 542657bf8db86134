/**
 * Which services may own which: ownership must stay a tree (or a DAG), never a cycle. A cycle
 * (`a.adopt(b)` then `b.adopt(a)`) made `health()` recurse until the stack overflowed (so
 * `/status` and `/healthz` answered 500), echoed every activity between the two forever, and made
 * each stop wait for the other's until `cleanupTimeout` cut it (1.1 s with a 1 s bound).
 */
import { ServiceError } from "./errors.ts";

/** What the check needs of a service: its name and the services it owns now. */
export interface OwnerNode {
  readonly name: string;
  ownedChildren(): readonly OwnerNode[];
}

/**
 * Throws a `ServiceError` when `parent` may not own `child`: it is `parent` itself, or it already
 * owns `parent` (directly or further down), so owning it would close a cycle.
 */
export function checkAdoption(parent: OwnerNode, child: OwnerNode, verb: string): void {
  if (child === parent) {
    throw new ServiceError(
      parent.name,
      "start",
      `${verb}(service "${child.name}") refused: a service cannot ${verb} itself`,
    );
  }
  const path = pathTo(child, parent);
  if (path === undefined) return;
  throw new ServiceError(
    parent.name,
    "start",
    `${verb}(service "${child.name}") refused: "${child.name}" is an ancestor of "${parent.name}" ` +
      `(${path.map((s) => `"${s.name}"`).join(" owns ")}), so owning it would make a cycle; ` +
      `keep ownership a tree: let "${child.name}" stay the owner, or stop it and ${verb} it from a service outside it`,
  );
}

/** The chain of owners from `from` down to `to`, or `undefined` when `from` does not own `to`. */
function pathTo(from: OwnerNode, to: OwnerNode): OwnerNode[] | undefined {
  const seen = new Set<OwnerNode>();
  const walk = (node: OwnerNode): OwnerNode[] | undefined => {
    if (node === to) return [node];
    if (seen.has(node)) return undefined; // a DAG may reach a node twice; no need to walk it again
    seen.add(node);
    for (const child of node.ownedChildren()) {
      const rest = walk(child);
      if (rest) return [node, ...rest];
    }
    return undefined;
  };
  return walk(from);
}
