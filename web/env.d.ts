// The core's base/event-loop.ts uses setImmediate where it exists (Node) and a zero timeout otherwise;
// browsers lack it, and the page type-checks without Node's types, so it is declared here.
declare function setImmediate(callback: () => void): unknown;
