/** Warren's version, printed by `warren version` and reported by every node. */
export const VERSION = "0.1.0";
