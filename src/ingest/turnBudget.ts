/**
 * At most `perTurn` jobs start in one turn of the event loop; the rest wait, in arrival order, for the next
 * turns. The broker hands gate-edge a whole socket read of publishes at once (32 readers at full rate: some
 * two thousand messages in one turn), and a turn that decodes and stores them all keeps a lane's scanner
 * read and decision waiting behind them. Budgeted, every turn ends after a bounded amount of bulk work, so
 * the lane's events — committed at the end of the turn they arrive in — wait milliseconds, not a flood.
 * Order is kept: a job never starts before one queued earlier.
 */
export class TurnBudget {
    private startedThisTurn = 0;
    private turnScheduled = false;
    private readonly waiting: (() => void)[] = [];

    /**
     * @param perTurn jobs started per turn (≥ 1).
     * @param nextTurn schedules a callback for the next turn (setImmediate; tests pass their own).
     */
    constructor(
        private readonly perTurn: number,
        private readonly nextTurn: (callback: () => void) => void = (callback) => setImmediate(callback),
    ) {}

    /** Runs `job` in this turn if the budget allows and nothing is waiting, else in a later turn. */
    run<T>(job: () => Promise<T>): Promise<T> {
        if (this.waiting.length === 0 && this.startedThisTurn < this.perTurn) {
            this.startedThisTurn++;
            this.scheduleTurn();
            return job();
        }
        return new Promise<T>((resolve, reject) => {
            this.waiting.push(() => job().then(resolve, reject));
            this.scheduleTurn();
        });
    }

    /** Jobs waiting for a later turn. */
    get queued(): number {
        return this.waiting.length;
    }

    private scheduleTurn(): void {
        if (this.turnScheduled) return;
        this.turnScheduled = true;
        this.nextTurn(() => {
            this.turnScheduled = false;
            this.startedThisTurn = 0;
            while (this.waiting.length > 0 && this.startedThisTurn < this.perTurn) {
                this.startedThisTurn++;
                this.waiting.shift()?.();
            }
            if (this.waiting.length > 0 || this.startedThisTurn > 0) this.scheduleTurn();
        });
    }
}
