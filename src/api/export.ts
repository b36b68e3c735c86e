import yazl from "yazl";

/**
 * ExportFunction's package (docs/compatibility.md): code only → the code ZIP itself; with
 * config → a ZIP holding `<name>.json` (the function model) and, when asked, `code.zip`.
 */
export async function buildExportZip(opts: {
  code: Buffer | undefined;
  config: Record<string, unknown> | undefined;
  name: string;
}): Promise<Buffer> {
  if (opts.code && !opts.config) return opts.code;
  const zip = new yazl.ZipFile();
  const mtime = new Date(2000, 0, 1);
  if (opts.config)
    zip.addBuffer(Buffer.from(JSON.stringify(opts.config, null, 2)), `${opts.name}.json`, {
      mtime,
    });
  if (opts.code) zip.addBuffer(opts.code, "code.zip", { mtime });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const c of zip.outputStream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}
