/**
 * Hello world: 1 client, 1 proposer, 5 acceptors and 2 learners, each on its own worker thread.
 * Submits "Hello world!" and prints what each learner learned. Run with `npm start`.
 */
import { Cluster } from '../lib/index.js';

await using cluster = await Cluster.start({ clients: 1, proposers: 1, acceptors: 5, learners: 2 });
const position = await cluster.submit('Hello world!');
console.log(`"Hello world!" was decided at position ${position}`);
for (let learner = 0; learner < cluster.topology.learners; learner++) {
  for await (const learned of cluster.learned({ learner })) {
    console.log(`learner ${learner} learned #${learned.position}: ${String(learned.value)}`);
    if (learned.position === position) break;
  }
}
// `await using` stops the cluster here; the process then exits on its own.
