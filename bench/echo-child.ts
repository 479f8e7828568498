/**
 * The floor measurement's partner: echoes every stdin chunk back to stdout.
 */
process.stdin.on('data', (chunk: Buffer) => process.stdout.write(chunk));
process.stdin.on('end', () => process.exit(0));
