import { Command, CommanderError } from 'commander';
import { InputError } from '../core/util/errors';
import { registerEquivariance } from './commands/equivariance';
import { registerPredict } from './commands/predict';
import { registerTrain } from './commands/train';
import { registerRuns } from './commands/runs';
import { registerEval } from './commands/eval';
import { registerReproduce } from './commands/reproduce';
import { registerSweep } from './commands/sweep';
import { registerServe } from './commands/serve';
import { EXIT_BAD_INPUT, EXIT_FAILURE } from './io';

const program = new Command();
program
  .name('fernn-lab')
  .description('FERNN Lab: flow-equivariant recurrent networks — headless experiments')
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();
registerEquivariance(program);
registerPredict(program);
registerTrain(program);
registerEval(program);
registerRuns(program);
registerReproduce(program);
registerSweep(program);
registerServe(program);
for (const cmd of program.commands) cmd.exitOverride();

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    // --help and --version end here with code 0; usage errors (unknown flag, missing value) are bad input.
    process.exitCode = e.exitCode === 0 ? 0 : EXIT_BAD_INPUT;
  } else if (e instanceof InputError) {
    process.stderr.write(`error: ${e.message}\n`);
    process.exitCode = EXIT_BAD_INPUT;
  } else {
    process.stderr.write(`error: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = EXIT_FAILURE;
  }
}
