/**
 * The workflow of the Vercel Workflow DevKit row of the `peers` scenario: one "use workflow" function
 * calling one "use step" function. Not imported by the bench: bench/peers-vercel.ts copies it into a
 * temp project and compiles it with the DevKit's standalone builder (@workflow/builders), which turns
 * the directives into a workflow bundle and a step bundle.
 */
export async function noopStep(): Promise<void> {
  'use step';
}

export async function oneStepWorkflow(): Promise<string> {
  'use workflow';
  await noopStep();
  return 'done';
}
