/**
 * Replays what a program wrote to a terminal, as far as the demo's screen needs: text, CR, LF
 * (scrolling at the bottom), cursor home, and clearing the screen, to the end of the screen or
 * of the line. Other escape sequences (cursor shown or hidden) are recorded but change nothing.
 */
export interface Replay {
  /** Lines scrolled off the top, then the screen, without the empty rows at the bottom. */
  text: string[];
  /** The screen as it was each time the cursor went home: each frame the demo drew. */
  frames: string[][];
  /** Every escape sequence seen, in order, e.g. "?25l", "H", "K". */
  sequences: string[];
}

export function replay(output: string, rows: number): Replay {
  const scrolled: string[] = [];
  let screen: string[] = Array(rows).fill("");
  const frames: string[][] = [];
  const sequences: string[] = [];
  let row = 0;
  let col = 0;
  const trimmed = (lines: string[]) => {
    const copy = [...lines];
    while (copy.length > 0 && copy.at(-1) === "") copy.pop();
    return copy;
  };
  const chars = [...output];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (c === "\x1b" && chars[i + 1] === "[") {
      let j = i + 2;
      while (j < chars.length && !/[A-Za-z]/.test(chars[j] as string)) j++;
      const sequence = chars.slice(i + 2, j + 1).join("");
      sequences.push(sequence);
      if (sequence === "H") {
        if (screen.some((line) => line !== "")) frames.push(trimmed(screen));
        row = 0;
        col = 0;
      } else if (sequence === "2J") screen = Array(rows).fill("");
      else if (sequence === "K") screen[row] = (screen[row] as string).slice(0, col);
      else if (sequence === "J") {
        screen[row] = (screen[row] as string).slice(0, col);
        for (let r = row + 1; r < rows; r++) screen[r] = "";
      }
      i = j;
    } else if (c === "\r") col = 0;
    else if (c === "\n") {
      if (row === rows - 1) {
        scrolled.push(screen.shift() as string);
        screen.push("");
      } else row++;
    } else {
      const line = [...(screen[row] as string).padEnd(col)];
      line[col] = c;
      screen[row] = line.join("");
      col++;
    }
  }
  return { text: trimmed([...scrolled, ...screen]), frames, sequences };
}
