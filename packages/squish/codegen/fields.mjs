/**
 * THE NODE FIELD TABLE: every field of every scene node kind, declared once.
 *
 * `codegen/generate.mjs` turns this table into the checked-in TypeScript under
 * `src/scene/generated/` and `src/codec/generated/`, and into the marked regions of
 * `src/scene/nodes.ts` (run `npm run gen -w @parlor/squish`; `npm run build`
 * runs it first, and test/fields.test.ts fails while the checked-in files differ from what this
 * table generates). From one entry come:
 *   - the bit constant (`SHAPE_X`) and the kind's allowed mask (`KIND_FIELDS`),
 *   - the option (`ShapeOptions.x`), the slot (`_x`), the default, the getter and the setter
 *     (which marks the bit dirty) of the node class,
 *   - the encoder (`fullMask`: fields that differ from the default; `writeFields`) and the
 *     decoder (`readFields`), in ascending bit order,
 *   - the mirror's TRANSLATE op (fields with a `pos` role),
 *   - the client's pixel views (`packages/client/src/render/generated/node-pixels.ts`): each
 *     drawn kind's fields with every `plane` measure mapped to CSS pixels, which the renderer
 *     draws from and the hit test tests against, so what is clicked is what is drawn.
 *
 * Adding a field to a kind = one entry here (a bit no old peer uses: payloads go on the wire in
 * ascending bit order), then `npm run gen -w @parlor/squish`; the wire format needs no other
 * change. Drawing what the field means is still the client's job.
 *
 * Entry keys:
 *   key      property and option name (slot `_key`)
 *   bit      0–9 and 11 for a kind's own fields; 10 and 12–13 for the fields every node has
 *            (10 keeps a flag's head within two bytes: `head` is the mask shifted by 3, a varint)
 *   wire     how the value travels: fixed (hundredths, zigzag varint), f32, str, bool, color
 *            (never null), colorOrNull, enum (one byte index into `enum`'s values), points, crop,
 *            clickable, shadow, flag (no payload at all: the bit alone flips the boolean; a new
 *            node starts from the default, so in a full node the bit means "not the default",
 *            and in a delta it means "changed"; the setter toggles the dirty bit, so a change
 *            undone within the tick sends nothing)
 *   def      default value, as TypeScript source (a full node leaves out fields equal to it)
 *   pos      'x' | 'y' | 'points': a plane position a TRANSLATE op moves
 *   plane    what the value measures in the plane: 'x' | 'y' | 'points' (positions), 'width' |
 *            'height' (extents along x or y), 'length' (a length in height units: radius, stroke
 *            width, text size); absent for values that are not plane measures
 *   required the option has no default (the constructor's options argument is then required)
 *   coerce   what the setter stores: 'string' (String(v)), 'nullish' (v ?? null), 'boolean' (!!v)
 *   constant name of the bit constant when not PREFIX_KEY
 *   label    how the decoder names the field in an error
 *   doc      TSDoc of the option; get: TSDoc of the property (default: doc)
 */

/** Enumerations sent as one byte: the index of the value in `values`. */
export const ENUMS = {
  ShapeType: {
    doc: 'Shape geometry: a closed `polygon`, an open `line` (polyline), or a `circle` (x, y, radius).',
    list: 'SHAPE_TYPES',
    values: ['polygon', 'line', 'circle'],
    what: 'shape type',
    /** Byte written for a value not in the list (decoders reject it). */
    unknown: 3,
  },
  TextAlign: {
    doc: 'Horizontal anchoring of a {@link Text} at its `x`.',
    list: 'ALIGNS',
    values: ['left', 'center', 'right'],
    what: 'text align',
    /** A value not in the list is sent as `left`. */
    unknown: 0,
  },
};

/**
 * Fields every node has. Their properties are written by hand in `src/scene/node.ts` (the clickable bit
 * follows whether there is a handler at all; the handler itself never travels).
 */
export const COMMON = [
  { key: 'onClick', bit: 12, wire: 'clickable', def: 'null', constant: 'FIELD_CLICKABLE', doc: 'Makes the node clickable; the client hit-tests it and the server calls this.' },
  { key: 'shadow', bit: 13, wire: 'shadow', def: 'null', constant: 'FIELD_SHADOW', doc: 'Drop shadow; default none.' },
  {
    key: 'interpolate', bit: 10, wire: 'flag', def: 'true', constant: 'FIELD_INTERPOLATE',
    doc: 'Whether clients may interpolate this node between frames; `false` makes it jump to each frame. Default true.',
  },
];

/** The kinds, in wire order (the kind is the low 2 bits of a node's head). */
export const KINDS = [
  {
    name: 'Group',
    kind: 'GROUP',
    prefix: 'GROUP',
    /** Draws nothing itself (its x, y, scale transform its children): no pixel view for the client. */
    container: true,
    fields: [
      { key: 'x', bit: 0, wire: 'fixed', def: '0', pos: 'x', plane: 'x', doc: 'Translation of the children in plane units; default 0.', get: 'Translation x in plane units.' },
      { key: 'y', bit: 1, wire: 'fixed', def: '0', pos: 'y', plane: 'y', doc: 'Default 0.', get: 'Translation y in plane units.' },
      { key: 'scale', bit: 2, wire: 'f32', def: '1', doc: "Scale of the children around the group's origin (after translation); default 1.", get: 'Scale factor (1 = none).' },
    ],
  },
  {
    name: 'Shape',
    kind: 'SHAPE',
    prefix: 'SHAPE',
    /** A TRANSLATE op moves the x/y fields of circles and the points of everything else. */
    translateXyWhen: { key: 'shapeType', is: "'circle'" },
    fields: [
      { key: 'shapeType', bit: 2, wire: 'enum', enum: 'ShapeType', def: "'polygon'", constant: 'SHAPE_TYPE', doc: "Default `'polygon'`.", get: 'Geometry kind.' },
      { key: 'points', bit: 0, wire: 'points', def: '[]', pos: 'points', plane: 'points', doc: 'Vertices in plane units, for `polygon` (closed automatically) and `line`. Default `[]`.', get: 'Vertices (polygon, line). Assign a new array to change them.' },
      { key: 'x', bit: 3, wire: 'fixed', def: '0', pos: 'x', plane: 'x', doc: 'Circle centre x in plane units (circles only); default 0.', get: 'Circle centre x.' },
      { key: 'y', bit: 4, wire: 'fixed', def: '0', pos: 'y', plane: 'y', doc: 'Circle centre y; default 0.', get: 'Circle centre y.' },
      { key: 'radius', bit: 5, wire: 'fixed', def: '0', plane: 'length', doc: 'Circle radius in plane units (circles only); default 0.', get: 'Circle radius.' },
      { key: 'fill', bit: 1, wire: 'colorOrNull', def: 'null', coerce: 'nullish', doc: 'Fill colour; `null` = no fill. Default `null`.', get: 'Fill colour or `null`.' },
      { key: 'stroke', bit: 6, wire: 'colorOrNull', def: 'null', coerce: 'nullish', doc: 'Border / line colour; `null` = no border. Default `null`.', get: 'Border colour or `null`.' },
      { key: 'strokeWidth', bit: 7, wire: 'fixed', def: '0.5', plane: 'length', doc: 'Border / line width in plane units; default 0.5.', get: 'Border width in plane units.' },
    ],
  },
  {
    name: 'Text',
    kind: 'TEXT',
    prefix: 'TEXT',
    fields: [
      { key: 'text', bit: 0, wire: 'str', def: "''", coerce: 'string', doc: "UTF-8 text of any length; default `''`.", get: 'The text.' },
      { key: 'x', bit: 1, wire: 'fixed', def: '0', pos: 'x', plane: 'x', doc: 'Anchor x in plane units; default 0.', get: 'Anchor x.' },
      { key: 'y', bit: 2, wire: 'fixed', def: '0', pos: 'y', plane: 'y', doc: 'Top of the text in plane units; default 0.', get: 'Top y.' },
      { key: 'size', bit: 3, wire: 'fixed', def: '4', plane: 'length', doc: "Font size in plane units (of the screen's height); default 4.", get: 'Font size in plane units.' },
      { key: 'color', bit: 4, wire: 'color', def: '[255, 255, 255, 255]', label: 'text colour', doc: 'Default white.', get: 'Text colour.' },
      { key: 'align', bit: 5, wire: 'enum', enum: 'TextAlign', def: "'left'", doc: "Default `'left'`.", get: 'Alignment at x.' },
      { key: 'font', bit: 6, wire: 'str', def: "'sans-serif'", doc: "CSS font family; default `'sans-serif'`.", get: 'CSS font family.' },
    ],
  },
  {
    name: 'Asset',
    kind: 'ASSET',
    prefix: 'ASSET',
    fields: [
      { key: 'assetId', bit: 0, wire: 'str', def: "''", required: true, constant: 'ASSET_ID', doc: "Key of the asset in the game's `metadata().assets`. Required.", get: 'Asset key.' },
      { key: 'x', bit: 1, wire: 'fixed', def: '0', pos: 'x', plane: 'x', doc: 'Images: left edge in plane units; default 0.', get: 'Left edge.' },
      { key: 'y', bit: 2, wire: 'fixed', def: '0', pos: 'y', plane: 'y', doc: 'Images: top edge; default 0.', get: 'Top edge.' },
      { key: 'width', bit: 3, wire: 'fixed', def: '10', plane: 'width', doc: 'Images: drawn width in plane units; default 10.', get: 'Drawn width.' },
      { key: 'height', bit: 4, wire: 'fixed', def: '10', plane: 'height', doc: 'Images: drawn height in plane units; default 10.', get: 'Drawn height.' },
      { key: 'crop', bit: 5, wire: 'crop', def: 'null', coerce: 'nullish', doc: 'Images: part of the source image to draw (sprite sheets), in source pixels; default the whole image.', get: 'Source crop or `null`.' },
      { key: 'startTime', bit: 6, wire: 'fixed', def: '0', constant: 'ASSET_START', doc: 'Audio: offset into the sound to start at, in ms; default 0.', get: 'Audio start offset in ms.' },
      { key: 'loop', bit: 7, wire: 'bool', def: 'false', coerce: 'boolean', doc: 'Audio: loop forever; default false.', get: 'Audio loop flag.' },
      { key: 'volume', bit: 8, wire: 'fixed', def: '1', doc: 'Audio: 0 (silent) to 1 (full); default 1.', get: 'Audio volume 0–1.' },
    ],
  },
];
