import yazl from "yazl";

/** A ZIP holding one file, in memory, base64-encoded as func_code.file wants it. */
export async function zipOneFile(name: string, content: string): Promise<string> {
  const zip = new yazl.ZipFile();
  zip.addBuffer(Buffer.from(content, "utf8"), name, {
    mtime: new Date("2024-01-01T00:00:00Z"),
    mode: 0o100644,
  });
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("base64");
}
