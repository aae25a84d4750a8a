/**
 * File types recognised by their first bytes ("magic numbers"), never by the name or the
 * Content-Type a client declares. Only formats a browser cannot run as script are listed as images
 * (no SVG).
 */
export type ImageType = 'image/png' | 'image/jpeg' | 'image/gif' | 'image/webp' | 'image/avif' | 'image/bmp';

const startsWith = (head: Buffer, bytes: number[], offset = 0): boolean =>
  head.length >= offset + bytes.length && bytes.every((byte, i) => head[offset + i] === byte);

const ascii = (text: string): number[] => [...text].map((char) => char.charCodeAt(0));

export function detectImageType(head: Buffer): ImageType | null {
  if (startsWith(head, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (startsWith(head, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (startsWith(head, ascii('GIF87a')) || startsWith(head, ascii('GIF89a'))) return 'image/gif';
  if (startsWith(head, ascii('RIFF')) && startsWith(head, ascii('WEBP'), 8)) return 'image/webp';
  if (startsWith(head, ascii('ftyp'), 4) && (startsWith(head, ascii('avif'), 8) || startsWith(head, ascii('avis'), 8))) return 'image/avif';
  if (startsWith(head, ascii('BM')) && head.length >= 14 && head.readUInt32LE(2) > 14) return 'image/bmp';
  return null;
}

/** A recognised type of any kind, for labelling downloads; null when the content says nothing. */
export function detectFileType(head: Buffer): string | null {
  const image = detectImageType(head);
  if (image) return image;
  if (startsWith(head, ascii('%PDF-'))) return 'application/pdf';
  if (startsWith(head, [0x50, 0x4b, 0x03, 0x04])) return 'application/zip';
  if (startsWith(head, [0x1f, 0x8b])) return 'application/gzip';
  return null;
}

const MIME = /^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}\/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$/;

/**
 * The type a stored file is labelled with: what its content proves, else what the client declared
 * if it is a well-formed MIME type, else `application/octet-stream`.
 */
export function fileTypeOf(head: Buffer, declared: string | undefined): string {
  const detected = detectFileType(head);
  if (detected) return detected;
  const clean = declared?.split(';')[0]?.trim().toLowerCase() ?? '';
  return MIME.test(clean) ? clean : 'application/octet-stream';
}

/**
 * A client's file name made safe to keep and to show: no directories, no control characters, no
 * characters that break a Content-Disposition header, at most 255 characters.
 */
export function sanitizeFilename(name: string | undefined, fallback = 'file'): string {
  const base = (name ?? '').split(/[\\/]/).pop() ?? '';
  const clean = base
    .normalize('NFC')
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f"<>|*?:]/g, '_')
    .replace(/^[.\s]+/, '')
    .trim()
    .slice(0, 255);
  return clean === '' ? fallback : clean;
}

/** `attachment` with an ASCII fallback name and the exact name in RFC 5987 form. */
export function contentDisposition(filename: string, type: 'attachment' | 'inline' = 'attachment'): string {
  const fallback = filename.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
  return `${type}; filename="${fallback}"; filename*=UTF-8''${encodeURIComponent(filename).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)}`;
}
