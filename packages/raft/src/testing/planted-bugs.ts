/**
 * Deliberate bugs that tests switch on to prove the simulator's checkers catch them. They are not
 * part of RawNode's config and not exported from the package index: only code that imports this
 * module on purpose (tests, the simulator CLI's --plant-bug) can turn them on.
 */
export interface PlantedBugs {
  /** A duplicated vote response is counted again. */
  doubleCountVotes: boolean;
  /** The leader commits an entry of an older term as soon as a quorum stores it. */
  commitOldTermByCounting: boolean;
  /** Ready.hardState carries no vote, so a restarted node forgets whom it voted for. */
  forgetToPersistVote: boolean;
  /** The leader answers ReadIndex with its commit index without a heartbeat quorum round. */
  readIndexWithoutQuorum: boolean;
}

export type PlantedBugName = keyof PlantedBugs;

export const PLANTED_BUG_NAMES: readonly PlantedBugName[] = [
  'doubleCountVotes',
  'commitOldTermByCounting',
  'forgetToPersistVote',
  'readIndexWithoutQuorum',
];

/** Read by the Raft core; all false unless a test plants a bug. */
export const plantedBugs: Readonly<PlantedBugs> = {
  doubleCountVotes: false,
  commitOldTermByCounting: false,
  forgetToPersistVote: false,
  readIndexWithoutQuorum: false,
};

export function plantBug(name: PlantedBugName, on = true): void {
  (plantedBugs as PlantedBugs)[name] = on;
}

export function clearPlantedBugs(): void {
  for (const name of PLANTED_BUG_NAMES) (plantedBugs as PlantedBugs)[name] = false;
}
