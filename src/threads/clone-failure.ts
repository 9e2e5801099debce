/** The error for a call whose arguments (or `this`) cannot cross threads, naming the culprit. */
export function cloneFailure(
  name: string,
  hasThis: boolean,
  args: readonly unknown[],
  cause: unknown,
  destination: "a worker thread" | "the main thread",
): TypeError {
  const index = args.findIndex((arg) => {
    try {
      structuredClone(arg);
      return false;
    } catch {
      return true;
    }
  });
  const what = index >= 0 ? `argument ${index + 1}` : hasThis ? "`this`" : "a value";
  return new TypeError(
    `${name || "promising function"}: ${what} cannot be sent to ${destination} ` +
      `(${(cause as Error)?.message ?? String(cause)}). Arguments, \`this\` and results of functions that ` +
      "cross threads travel by structured clone: pass plain data (no functions, sockets, or class " +
      "instances whose state lives in private fields).",
    { cause },
  );
}
