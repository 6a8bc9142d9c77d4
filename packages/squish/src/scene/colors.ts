/**
 * An RGBA colour: four integers 0–255 (`[r, g, b, a]`, `a = 255` opaque).
 * The codec sends each channel as one byte; values are rounded and clamped to 0–255.
 */
export type Color = readonly [r: number, g: number, b: number, a: number];

/** Builds a {@link Color}; `a` defaults to 255 (opaque). */
export function rgba(r: number, g: number, b: number, a = 255): Color {
  return [r, g, b, a];
}

/** Named colours for quick use, in the spirit of Homegames' `Colors.COLORS`. */
export const Colors = {
  BLACK: rgba(0, 0, 0),
  WHITE: rgba(255, 255, 255),
  GRAY: rgba(128, 128, 128),
  DARK_GRAY: rgba(48, 48, 56),
  LIGHT_GRAY: rgba(200, 200, 200),
  RED: rgba(230, 57, 70),
  GREEN: rgba(46, 196, 102),
  BLUE: rgba(52, 120, 246),
  YELLOW: rgba(250, 204, 21),
  ORANGE: rgba(249, 115, 22),
  PURPLE: rgba(147, 51, 234),
  PINK: rgba(236, 72, 153),
  CYAN: rgba(34, 211, 238),
  FELT: rgba(21, 101, 61),
  NAVY: rgba(15, 23, 42),
  TRANSPARENT: rgba(0, 0, 0, 0),
} as const satisfies Record<string, Color>;

/** CSS `rgba()` string for a colour, for canvas renderers. */
export function colorToCss(c: Color): string {
  return `rgba(${c[0]},${c[1]},${c[2]},${c[3] / 255})`;
}
