/**
 * A writable stream over the write end of a fifo (an exec's stdin) that passes every chunk to
 * the kernel before its write resolves.
 *
 * `Deno.FsFile.writable` does not: on a fifo its writes reached the reader only when the file was
 * closed (measured on Deno 2.9.6), so an interactive `service exec -i`/`-it` showed a prompt and
 * then nothing, every keystroke held back until the input ended. `FsFile.write` writes at once.
 * @module
 */

/** A stream writing to `file` chunk by chunk with `FsFile.write`; closing it closes the file. */
export function fifoWritable(file: Deno.FsFile): WritableStream<Uint8Array> {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    file.close();
  };
  return new WritableStream<Uint8Array>({
    write: async (chunk) => {
      // A write to a pipe may take only part of the chunk: write the rest until none is left.
      for (let at = 0; at < chunk.byteLength;) at += await file.write(chunk.subarray(at));
    },
    close,
    abort: close,
  });
}
