/**
 * The tile map of Indonesia's 38 provinces: one square tile per province, placed on a grid
 * roughly where the province lies (west → east, north → south). It needs no boundary data: the
 * positions below are the whole map. `abbr` is the tile's label; the full name comes from the API.
 */
export const TILES = [
  // Sumatra, north-west to south-east
  { code: '11', abbr: 'AC', col: 0, row: 0 },
  { code: '12', abbr: 'SU', col: 1, row: 1 },
  { code: '21', abbr: 'KR', col: 3, row: 1 },
  { code: '13', abbr: 'SB', col: 1, row: 2 },
  { code: '14', abbr: 'RI', col: 2, row: 2 },
  { code: '17', abbr: 'BE', col: 1, row: 3 },
  { code: '15', abbr: 'JA', col: 2, row: 3 },
  { code: '16', abbr: 'SS', col: 2, row: 4 },
  { code: '19', abbr: 'BB', col: 3, row: 4 },
  { code: '18', abbr: 'LA', col: 2, row: 5 },
  // Java, Bali, Nusa Tenggara
  { code: '31', abbr: 'JK', col: 4, row: 5 },
  { code: '36', abbr: 'BT', col: 3, row: 6 },
  { code: '32', abbr: 'JB', col: 4, row: 6 },
  { code: '33', abbr: 'JT', col: 5, row: 6 },
  { code: '34', abbr: 'YO', col: 5, row: 7 },
  { code: '35', abbr: 'JI', col: 6, row: 6 },
  { code: '51', abbr: 'BA', col: 7, row: 6 },
  { code: '52', abbr: 'NB', col: 8, row: 6 },
  { code: '53', abbr: 'NT', col: 9, row: 6 },
  // Kalimantan
  { code: '65', abbr: 'KU', col: 7, row: 1 },
  { code: '61', abbr: 'KB', col: 6, row: 2 },
  { code: '64', abbr: 'KI', col: 7, row: 2 },
  { code: '62', abbr: 'KT', col: 6, row: 3 },
  { code: '63', abbr: 'KS', col: 7, row: 3 },
  // Sulawesi
  { code: '75', abbr: 'GO', col: 9, row: 1 },
  { code: '71', abbr: 'SA', col: 10, row: 1 },
  { code: '72', abbr: 'ST', col: 9, row: 2 },
  { code: '76', abbr: 'SR', col: 8, row: 3 },
  { code: '74', abbr: 'SG', col: 9, row: 3 },
  { code: '73', abbr: 'SN', col: 8, row: 4 },
  // Maluku
  { code: '82', abbr: 'MU', col: 11, row: 1 },
  { code: '81', abbr: 'MA', col: 11, row: 3 },
  // Papua
  { code: '96', abbr: 'PD', col: 12, row: 2 },
  { code: '92', abbr: 'PB', col: 13, row: 2 },
  { code: '91', abbr: 'PA', col: 14, row: 2 },
  { code: '94', abbr: 'PT', col: 13, row: 3 },
  { code: '95', abbr: 'PP', col: 14, row: 3 },
  { code: '93', abbr: 'PS', col: 14, row: 4 },
];

export const GRID_COLUMNS = 15;
export const GRID_ROWS = 8;

/**
 * The colour class of a coverage ratio (covered regencies/cities out of all, R13):
 * `cov-none` (no data), `cov-0` (none covered), `cov-1` (< 50 %), `cov-2` (< 80 %),
 * `cov-3` (< 100 %), `cov-4` (all covered).
 */
export function coverageClass(covered, total) {
  if (typeof covered !== 'number' || typeof total !== 'number' || total <= 0) return 'cov-none';
  const ratio = covered / total;
  if (covered <= 0) return 'cov-0';
  if (ratio < 0.5) return 'cov-1';
  if (ratio < 0.8) return 'cov-2';
  if (ratio < 1) return 'cov-3';
  return 'cov-4';
}
