import { describe, expect, it } from 'vitest';
import { neutraliseCell, xlsxText } from './neutralise.ts';

describe('neutraliseCell', () => {
  it.each([
    ['=SUM(A1:A9)', "'=SUM(A1:A9)"],
    ['+62812345', "'+62812345"],
    ['-1+1', "'-1+1"],
    ['@cmd', "'@cmd"],
    ['\tTAB', "'\tTAB"],
    ['\rCR', "'\rCR"],
    ['Budi Santoso', 'Budi Santoso'],
    [' =not at start', ' =not at start'],
    ["'already", "'already"],
    ['', ''],
  ])('%j → %j', (input, expected) => {
    expect(neutraliseCell(input)).toBe(expected);
  });
});

describe('xlsxText', () => {
  it('writes control characters as OOXML escapes and escapes literal escapes', () => {
    expect(xlsxText('a\u001bb')).toBe('a_x001B_b');
    expect(xlsxText('\u0000')).toBe('_x0000_');
    expect(xlsxText('tab\tand\nnewline')).toBe('tab\tand\nnewline');
    expect(xlsxText('_x0041_')).toBe('_x005F_x0041_');
    expect(xlsxText('plain ✓ 😀')).toBe('plain ✓ 😀');
  });
});
