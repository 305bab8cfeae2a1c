/**
 * Where a proposer meets clients: it admits their submissions into the phase-2 pipeline, answers
 * at once those whose outcome is known already (delivered, expired, registered), and tells the
 * clients, while it leads, what the log decided for them.
 *
 * It is also the embedded learner's session listener: the learner reports sessions opened and
 * values refused during its step; the desk holds them until the proposer drains the learner.
 * Being plain data (no closures), it is cloned along with the proposer and its learner.
 */
import type { CommitNotice, Submission, SubmitMessage } from './messages.js';
import { SESSION_EXPIRED } from './messages.js';
import type { AcceptPipeline } from './accept-pipeline.js';
import type { Delivery, Learner, Refusal, Registration, SessionListener } from './learner.js';
import { RecentPositions } from './recent-positions.js';
import { type Outbox, TO_CLIENTS } from './role.js';

/** Position reported for a value decided below a trim point this proposer skipped over. */
export const UNKNOWN_POSITION = -1;

/** Registrations whose keys a leader remembers, to answer a client whose answer was lost. */
const RECENT_REGISTRATIONS = 4096;

export class ClientDesk implements SessionListener {
  /** Positions of recently delivered values, to answer a client whose ack got lost. */
  private readonly positions = new RecentPositions();
  /** nonce → session key of recent registrations, in registration order. */
  private readonly sessionKeys = new Map<string, number>();
  /** Sessions opened and values refused by the learner since the last `answerLearned`. */
  private registrations: Registration[] = [];
  private refusals: Refusal[] = [];

  constructor(private readonly outbox: Outbox) {}

  registered(registration: Registration): void {
    this.registrations.push(registration);
  }

  refused(refusal: Refusal): void {
    this.refusals.push(refusal);
  }

  /** Client values: answer those already decided, queue the others (once) for ordering. */
  admitValues(m: SubmitMessage, leading: boolean, learner: Learner, pipeline: AcceptPipeline): void {
    this.positions.forgetBelow(m.client, m.completedBelow);
    const notices: CommitNotice[] = [];
    const toOrder: Submission[] = [];
    for (const s of m.values) {
      const admission = learner.admission(s.client, s.seq);
      if (admission === 'duplicate') {
        // Delivered below a snapshot this proposer continued from, the position can be unknown:
        // still end the client's wait rather than let it resend forever.
        const position = this.positions.find(s.client, s.seq) ?? UNKNOWN_POSITION;
        notices.push({ client: s.client, seq: s.seq, position });
      } else if (admission === 'expired') {
        notices.push({ client: s.client, seq: s.seq, position: SESSION_EXPIRED });
      } else {
        toOrder.push(s);
      }
    }
    pipeline.queueValues(m.client, toOrder);
    if (notices.length && leading) this.outbox.send(TO_CLIENTS, { type: 'committed', entries: notices });
  }

  /** A client asks for a session: order its registration like a value, once per nonce. */
  admitRegistrations(entries: readonly Submission[], leading: boolean, pipeline: AcceptPipeline): void {
    for (const s of entries) {
      const nonce = s.value as string;
      const client = this.sessionKeys.get(nonce);
      if (client === undefined) pipeline.queueRegistration(s, nonce);
      else if (leading) this.outbox.send(TO_CLIENTS, { type: 'registered', nonce, client });
    }
  }

  /**
   * Remember what the learner delivered and the sessions it opened, and answer the clients if
   * leading: sessions first, then one `committed` with refusals and deliveries in order.
   */
  answerLearned(deliveries: readonly Delivery[], leading: boolean): void {
    const registrations = this.registrations;
    const refusals = this.refusals;
    this.registrations = [];
    this.refusals = [];
    for (const r of registrations) {
      if (!this.sessionKeys.has(r.nonce)) this.sessionKeys.set(r.nonce, r.client);
      if (this.sessionKeys.size > RECENT_REGISTRATIONS) this.sessionKeys.delete(this.sessionKeys.keys().next().value as string);
      if (leading) this.outbox.send(TO_CLIENTS, { type: 'registered', nonce: r.nonce, client: this.sessionKeys.get(r.nonce)! });
    }
    const notices: CommitNotice[] = [];
    for (const r of refusals) notices.push({ client: r.client, seq: r.seq, position: SESSION_EXPIRED });
    for (const d of deliveries) {
      this.positions.add(d.client, d.seq, d.position);
      notices.push({ client: d.client, seq: d.seq, position: d.position });
    }
    if (leading && notices.length) this.outbox.send(TO_CLIENTS, { type: 'committed', entries: notices });
  }
}
