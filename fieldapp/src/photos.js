// Photos are resized on the device before they are stored: a 3-4 MB camera
// JPEG becomes about 85-100 KB at 1280 px and quality 0.6 (a ger, its door and
// lattice still plain to see), so a trip's 15 photos cost ~45 s on a 256 kbit/s
// link instead of ~25 minutes; at 0.7 they were ~105-120 KB, and 15 of those
// alone fill the 60 s the whole push may take (bench/field_link.py). The form
// may set its own `photos: {"max_side", "quality"}` (docs/forms.md).

export const DEFAULT_MAX_SIDE = 1280;
export const DEFAULT_QUALITY = 0.6;

/** The longest side and JPEG quality a form asks for, within sane bounds. */
export function photoSettings(definition) {
  const asked = (definition && definition.photos) || {};
  const side = Number.isInteger(asked.max_side) ? asked.max_side : DEFAULT_MAX_SIDE;
  const quality = typeof asked.quality === 'number' ? asked.quality : DEFAULT_QUALITY;
  return {
    maxSide: Math.min(4096, Math.max(320, side)),
    quality: Math.min(0.95, Math.max(0.3, quality)),
  };
}

/** The size to draw a width x height image at so its longest side is at most maxSide. */
export function fitWithin(width, height, maxSide) {
  const longest = Math.max(width, height);
  if (longest <= maxSide) return { width, height };
  const scale = maxSide / longest;
  return { width: Math.max(1, Math.round(width * scale)), height: Math.max(1, Math.round(height * scale)) };
}

/** A JPEG Blob of `file` resized per `settings` (browser only: decodes through a canvas). */
export async function resizePhoto(file, settings) {
  const bitmap = await createImageBitmap(file, { imageOrientation: 'from-image' });
  const { width, height } = fitWithin(bitmap.width, bitmap.height, settings.maxSide);
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const context = canvas.getContext('2d');
  context.imageSmoothingQuality = 'high';
  context.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', settings.quality));
  if (!blob) throw new Error('the photo could not be encoded');
  return blob;
}
