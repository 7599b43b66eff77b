/* The end of every loop turn: what the turn changed is stored, committed as
 * one batch (or, when nobody waits for it, with the next turns': group
 * commit), and only then are the replies that acknowledge it sent. */
#ifndef JOBD_TURN_H
#define JOBD_TURN_H

#include <stdint.h>
#include <uv.h>

#include "fs/fs.h"
#include "jobs/jobs.h"
#include "srv/srv.h"
#include "store/store.h"

typedef struct Turn Turn;

/* Runs turn_end before the loop waits for anything, each time around; after
 * each commit, the held replies go (srv_release) and the parked reads that
 * now have an answer get it (fs_turn_end). */
Turn *turn_start(uv_loop_t *loop, Jobs *js, Store *store, Srv *srv, Fs *fs);
/* Stores, commits and releases now (shutdown begins, the last turn). */
void turn_end(Turn *t);
/* A commit that lost its batch (the store's done with an error other than
 * -EAGAIN) makes jobd exit, unless lost is set (a cluster's node): then the
 * replies that waited for it are not sent (srv_drop_sealed) and lost(arg)
 * is called to take up again. */
void turn_on_lost(Turn *t, void (*lost)(void *arg), void *arg);
/* A last turn_end, then (once its commit is answered) the handles close;
 * stopped(arg), if not NULL, then t is freed once they have. */
void turn_stop(Turn *t, void (*stopped)(void *arg), void *arg);
/* Batches sent to be committed, and turns whose batch waited for the gap
 * (group commit), since turn_start. */
uint64_t turn_commits(const Turn *t);
uint64_t turn_held_back(const Turn *t);
/* Group commit's rule (turn.c says why): a batch nobody waits for (waited
 * 0) and sent since_ns after the last commit is committed now (-1) if the
 * gap has passed, else held, and the timer commits it in the ms returned
 * unless a later turn does first. Pure: the unit tests call it. */
int64_t turn_pace(int waited, uint64_t since_ns);

#endif
