// Runs the CLI from source, as bin/kodah.js runs the compiled one, for tests that need a real process.
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv);
