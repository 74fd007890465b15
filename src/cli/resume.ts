import type { Argv } from 'yargs';
import { withRunFlags, runChangeCommand, type ChangeArgs } from './change-flags.js';
import type { Runner } from './index.js';

export const resumeCommand = (run: Runner) => ({
  command: 'resume <name>',
  describe: 'Finish a rotate, rotate-ca or restore that was committed and then interrupted: restart and verify, issue nothing',
  builder: (y: Argv) =>
    withRunFlags(y)
      .example('$0 check my-vc -n team-a', 'says when a change did not finish')
      .example('$0 resume my-vc -n team-a --yes', 'restart and verify what the Secret holds')
      .epilog('Reads the change marker on <name>-certs; brings every Ready replica\'s /data/pki to the Secret, restarts '
        + '(all together when the change replaced the CAs), verifies and marks the change done. Nothing to do exits 0. '
        + 'Exit codes: 0 done or nothing to do, 3 could not start, 4 failed (the message says how to go back), 5 declined.'),
  handler: (args: ChangeArgs) => run(async () => {
    const { runResume } = await import('../flows/resume.js');
    return runChangeCommand(args, null, undefined, (port, opts) => runResume(port, opts));
  }),
});
