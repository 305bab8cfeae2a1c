/** Naming the nodes of a scenario: by group and id, and as `group/id`. */
import { type Group, GROUPS } from '../protocol/messages.js';
import type { Scenario } from './scenario.js';

export interface NodeRef {
  group: Group;
  id: number;
}

export const nodeName = (n: NodeRef): string => `${n.group}/${n.id}`;

/** Every node of the shape, group by group. */
export function everyone(shape: Scenario['shape']): NodeRef[] {
  const all: NodeRef[] = [];
  for (const group of GROUPS) {
    for (let id = 0; id < shape[group]; id++) all.push({ group, id });
  }
  return all;
}
