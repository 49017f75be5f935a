export * from './file-format-error.ts';
export * from './header-aliases.ts';
export * from './encoding.ts';
export * from './csv.parser.ts';
export * from './xlsx.parser.ts';
export * from './json.parser.ts';
export * from './agency-file.parser.ts';
export * from './zip-archive.ts';
