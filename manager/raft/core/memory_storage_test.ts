import { MemoryStorage } from "./memory_storage.ts";
import { runStorageConformance } from "./storage_conformance.ts";

Deno.test("MemoryStorage passes the storage conformance suite", (t) =>
  runStorageConformance("memory", () => Promise.resolve(new MemoryStorage()), t));
