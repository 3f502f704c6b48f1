/* gpt2 train (included by gpt2.c): fine-tuning on a UTF-8 text tokenized
 * with the model's BPE, with chargpt's progress line, loss curve and exact
 * resume (train_ui.h).
 *
 * --out DIR becomes a model directory (config.json, model.safetensors,
 * vocab.json, merges.txt) plus train_state.safetensors — the weights under
 * cgrad's names, AdamW's state, and in the metadata the step, the
 * generator, the run's flags and the data's hash — and loss.svg. --resume
 * continues from train_state.safetensors exactly as if the run had not
 * stopped. */

/* what a run trains: the tokens, the model and its optimizer */
typedef struct {
    int64_t *data; /* (n) the text's tokens: train the first 90%, val the rest */
    int64_t n, n_train;
    uint64_t hash; /* of the tokens */
    cg_gpt_config cfg;
    cg_gpt *m;
    cg_optimizer *opt;
    int64_t step0;
    bool val_ok;
    char state[PATH], svg[PATH];
} run;

/* what a resumed run must share with the run it continues (--steps may
 * grow, as chargpt's) */
static const char *RUN_KEYS[] = {"batch", "block", "data"};
enum { N_RUN_KEYS = sizeof RUN_KEYS / sizeof RUN_KEYS[0] };

static void run_free(run *r) {
    cg_optimizer_free(r->opt);
    cg_gpt_free(r->m);
    free(r->data);
}

/* the text of --data as tokens, split 90/10 */
static int load_data(const options *o, cg_bpe *bpe, run *r) {
    FILE *f = fopen(o->data, "rb");
    if (!f) {
        fprintf(stderr, "gpt2: cannot open %s: %s\n", o->data, strerror(errno));
        return -1;
    }
    size_t len = 0;
    char *text = read_all(f, o->data, (size_t)o->max_data << 20, &len);
    fclose(f);
    int32_t *ids = NULL;
    r->n = text ? encode(bpe, text, len, &ids) : -1;
    free(text);
    r->data = r->n > 0 ? malloc(sizeof *r->data * (size_t)r->n) : NULL;
    r->hash = 14695981039346656037u; /* FNV-1a over the ids */
    for (int64_t i = 0; r->data && i < r->n; i++)
        r->hash = (r->hash ^ (uint64_t)(r->data[i] = ids[i])) * 1099511628211u;
    free(ids);
    r->n_train = r->n * 9 / 10;
    if (!r->data || r->n_train <= o->block) {
        if (r->n >= 0)
            fprintf(stderr, "gpt2: %s has %lld tokens, too few for --block %lld\n", o->data,
                    (long long)r->n, (long long)o->block);
        return -1;
    }
    r->val_ok = r->n - r->n_train > o->block;
    return 0;
}

/* a random batch x, y (B, block) of split [lo, hi) of the tokens, drawn
 * from the global generator */
static int batch(const run *r, int64_t lo, int64_t hi, const options *o, cg_tensor **x,
                 cg_tensor **y) {
    int64_t B = o->batch, T = o->block;
    cg_tensor *u = cg_contiguous(cg_rand(CG_SHAPE(B), CG_FLOAT64));
    int64_t *bx = malloc(sizeof *bx * (size_t)(B * T)), *by = malloc(sizeof *by * (size_t)(B * T));
    for (int64_t b = 0; u && bx && by && b < B; b++) {
        int64_t i = lo + (int64_t)(((const double *)cg_data_ptr(u))[b] * (double)(hi - lo - T));
        memcpy(bx + b * T, r->data + i, sizeof *bx * (size_t)T);
        memcpy(by + b * T, r->data + i + 1, sizeof *by * (size_t)T);
    }
    *x = u && bx && by ? cg_from_data(bx, CG_SHAPE(B, T), CG_INT64) : NULL;
    *y = u && bx && by ? cg_from_data(by, CG_SHAPE(B, T), CG_INT64) : NULL;
    free(bx);
    free(by);
    return *x && *y ? 0 : -1;
}

/* the model of dir's config.json with --dropout, and its AdamW */
static int new_model(const options *o, const char *dir, run *r) {
    char path[PATH];
    join(path, dir, "config.json");
    if (cg_gpt2_read_config(path, &r->cfg) < 0) return -1;
    r->cfg.dropout = o->dropout;
    if (o->block > r->cfg.block_size) {
        cg_error_in("gpt2", "--block %lld is over the model's n_positions %lld",
                    (long long)o->block, (long long)r->cfg.block_size);
        return -1;
    }
    if (!(r->m = cg_gpt_new(&r->cfg))) return -1;
    cg_params *p = cg_gpt_params(r->m);
    r->opt = cg_adamw(cg_params_count(p), cg_params_tensors(p), o->lr, 0.9, 0.95, 1e-8, 0.1);
    return r->opt ? 0 : -1;
}

/* the run's flags (RUN_KEYS) as metadata values */
static void run_values(const options *o, const run *r, char v[N_RUN_KEYS][64]) {
    snprintf(v[0], 64, "%lld", (long long)o->batch);
    snprintf(v[1], 64, "%lld", (long long)o->block);
    snprintf(v[2], 64, "%lld:%016llx", (long long)r->n, (unsigned long long)r->hash);
}

/* weights, AdamW's state; step, generator, optimizer steps and flags */
static int save_state(const options *o, const run *r, int64_t step) {
    cg_state_dict *d = cg_state_dict_new();
    char v[N_RUN_KEYS][64];
    int rc = ckpt_add_state(d, cg_gpt_params(r->m), r->opt);
    run_values(o, r, v);
    for (int k = 0; k < N_RUN_KEYS && rc == 0; k++)
        rc |= cg_state_dict_set_metadata(d, RUN_KEYS[k], v[k]);
    if (rc == 0) rc |= ckpt_add_progress(d, r->opt, step);
    if (rc == 0) rc = cg_save_safetensors(r->state, d);
    cg_state_dict_free(d);
    return rc;
}

/* the step, the generator and AdamW's steps of ck; the run's flags must match */
static int restore_meta(const options *o, const cg_state_dict *ck, run *r) {
    char v[N_RUN_KEYS][64];
    run_values(o, r, v);
    for (int k = 0; k < N_RUN_KEYS; k++) {
        const char *got = cg_state_dict_metadata(ck, RUN_KEYS[k]);
        if (!got || strcmp(got, v[k]) != 0) {
            cg_error_in("gpt2", "--resume: the run had %s %s, this one %s", RUN_KEYS[k],
                        got ? got : "(none)", v[k]);
            return -1;
        }
    }
    if (to_int(cg_state_dict_metadata(ck, "step"), STEPS, &r->step0) < 0 ||
        ckpt_restore_progress(ck, r->opt) < 0) {
        cg_error_in("gpt2", "train_state.safetensors has no valid step, optim.steps or rng");
        return -1;
    }
    return 0;
}

/* the model and AdamW: --model's weights, or --out's run state (--resume) */
static int setup_model(const options *o, run *r) {
    if (new_model(o, o->resume ? o->out : o->model, r) < 0) return -1;
    if (o->resume) {
        cg_state_dict *ck = cg_load_safetensors(r->state);
        int rc = ck && ckpt_restore_state(ck, cg_gpt_params(r->m), r->opt) == 0 &&
                         restore_meta(o, ck, r) == 0
                     ? 0
                     : -1;
        cg_state_dict_free(ck);
        return rc;
    }
    char path[PATH];
    join(path, o->model, "model.safetensors");
    cg_state_dict *sd = cg_load_safetensors(path);
    int rc = sd ? cg_gpt2_load_state_dict(r->m, sd) : -1;
    cg_state_dict_free(sd);
    return rc;
}

/* --out checked: another run's state is not overwritten without --force */
static int check_out(const options *o, run *r) {
    struct stat st;
    join(r->state, o->out, "train_state.safetensors");
    join(r->svg, o->out, "loss.svg");
    if (o->resume && stat(r->state, &st) != 0) {
        fprintf(stderr, "gpt2: --resume: %s: %s\n", r->state, strerror(errno));
        return -1;
    }
    if (!o->resume && !o->force && stat(r->state, &st) == 0) {
        fprintf(stderr,
                "gpt2: %s exists (another run): --resume continues it, --force overwrites it\n",
                r->state);
        return -1;
    }
    if (o->model && o->resume && strcmp(o->model, o->out) != 0)
        fprintf(stderr, "gpt2: --resume continues %s (--model is not read)\n", o->out);
    return 0;
}

/* the mean loss over --eval-iters val batches, without a graph; the
 * generator is put back (training draws the same batches either way) */
static double estimate_val(const options *o, run *r) {
    uint64_t rng[4];
    cg_get_rng_state(rng);
    cg_gpt_train(r->m, false);
    double total = 0;
    int n = 0;
    for (int64_t i = 0; i < o->eval_iters; i++) {
        cg_scope_begin();
        cg_tensor *x, *y, *loss = NULL;
        if (batch(r, r->n_train, r->n, o, &x, &y) == 0) CG_NO_GRAD {
                loss = cg_gpt_loss(r->m, x, y);
            }
        if (loss) total += cg_item(loss), n++;
        cg_scope_end();
    }
    cg_gpt_train(r->m, true);
    cg_set_rng_state(rng);
    return n ? total / n : NAN;
}

/* step s: one batch, one AdamW step; its loss in *loss */
static int train_step(const options *o, run *r, int64_t s, double *loss_out) {
    cg_params *p = cg_gpt_params(r->m);
    cg_optimizer_set_lr(r->opt,
                        cg_lr_warmup_cosine(o->lr, o->lr / 10, s, o->steps / 20 + 1, o->steps));
    cg_scope_begin();
    cg_tensor *x, *y, *loss = NULL;
    cg_optimizer_zero_grad(r->opt, true);
    if (batch(r, 0, r->n_train, o, &x, &y) == 0) loss = cg_gpt_loss(r->m, x, y);
    int rc = loss ? 0 : -1;
    if (loss) *loss_out = cg_item(loss);
    if (loss && !isfinite(*loss_out) && !o->allow_nan) {
        cg_error_in("gpt2", "loss is %g at step %lld (--allow-nan trains on)", *loss_out,
                    (long long)s + 1);
        rc = -1;
    } else if (loss && cg_backward(loss, NULL, false) == 0) {
        cg_clip_grad_norm(cg_params_count(p), cg_params_tensors(p), 1.0, 2);
        rc = cg_optimizer_step(r->opt);
    } else {
        rc = -1;
    }
    cg_scope_end();
    return rc;
}

/* the model directory and the run state at step */
static int save_all(const options *o, const run *r, int64_t step) {
    if (cg_gpt2_save_dir(r->m, o->out) == 0 && save_state(o, r, step) == 0) return 0;
    fprintf(stderr, "gpt2: cannot save to %s: %s\n", o->out, cg_last_error());
    return -1;
}

/* the steps after step0 (to --steps, --stop-after or a signal) with the
 * progress line, val estimates and periodic saves */
static int train_loop(const options *o, run *r, losses *c) {
    int64_t end = o->stop_after && o->stop_after < o->steps ? o->stop_after : o->steps;
    int64_t n = end > r->step0 ? end - r->step0 : 0;
    c->train = calloc((size_t)n + 1, sizeof *c->train);
    c->val = calloc((size_t)(n / o->eval_every) + 2, sizeof *c->val);
    c->val_at = calloc((size_t)(n / o->eval_every) + 2, sizeof *c->val_at);
    if (!c->train || !c->val || !c->val_at) return -1;
    bool tty = isatty(fileno(stdout));
    double t0 = now_s(), val = NAN, last_print = 0;
    int rc = 0;
    for (int64_t s = r->step0; s < r->step0 + n && rc == 0 && !stop_signal; s++) {
        int64_t done = s - r->step0 + 1;
        bool last = done == n;
        rc = train_step(o, r, s, &c->train[done - 1]);
        if (rc == 0) c->n = done;
        if (rc == 0 && r->val_ok && ((s + 1) % o->eval_every == 0 || last || stop_signal)) {
            val = estimate_val(o, r);
            c->val[c->nval] = val, c->val_at[c->nval++] = (double)done - 1;
        }
        if (rc == 0 && o->save_every && (s + 1) % o->save_every == 0 && !last && !stop_signal)
            rc = save_all(o, r, s + 1) == 0 ? 0 : -2;
        double el = now_s() - t0;
        bool force = last || stop_signal || el - last_print > 10 || (s + 1) % o->eval_every == 0;
        if (force) last_print = el;
        progress(tty, &(progress_line){.step = s + 1,
                                       .total = o->steps,
                                       .loss = c->train[done - 1],
                                       .val = val,
                                       .has_val = c->nval > 0,
                                       .tok_s = (double)(done * o->batch * o->block) / el,
                                       .eta = el / (double)done * (double)(n - done),
                                       .force = force});
    }
    if (tty) printf("\n");
    if (rc == -1) fprintf(stderr, "gpt2: training failed: %s\n", cg_last_error());
    return rc ? -1 : 0;
}

/* --sample tokens after a newline, with the KV cache */
static void sample_after(const options *o, run *r, cg_bpe *bpe) {
    int64_t n = o->sample < r->cfg.block_size - 1 ? o->sample : r->cfg.block_size - 1;
    if (n <= 0) return;
    stream st = {.bpe = bpe};
    cg_scope_begin();
    cg_tensor *idx = prompt_ids(bpe, "\n");
    cg_generate_options g = {.max_new_tokens = (int)n,
                             .temperature = 0.8,
                             .top_k = 40,
                             .on_token = on_token,
                             .user = &st};
    printf("---- sample (%lld tokens, temperature 0.8, top-k 40)\n", (long long)n);
    if (idx && cg_gpt_generate_cached(r->m, idx, &g)) stream_print(&st, true);
    printf("\n----\n");
    cg_scope_end();
    free(st.ids);
}

static int train(const options *o) {
    run r = {0};
    losses c = {0};
    cg_manual_seed(o->seed);
    cg_bpe *bpe = NULL;
    int rc = check_out(o, &r) == 0 && (bpe = load_tokenizer(o->resume ? o->out : o->model, NULL)) &&
                     load_data(o, bpe, &r) == 0
                 ? 0
                 : -1;
    if (rc == 0 && setup_model(o, &r) < 0) {
        fprintf(stderr, "gpt2: %s\n", cg_last_error());
        rc = -1;
    }
    if (rc == 0 && !o->resume)
        rc = cg_gpt2_save_dir(r.m, o->out) == 0 ? copy_tokenizer(o->model, o->out) : -1;
    if (rc == 0) {
        printf("gpt2 train: %s: %lld tokens; GPT-2 %d layers x %d heads x %lld wide, %lld "
               "parameters; batch %lld x %lld%s\n",
               o->data, (long long)r.n, r.cfg.n_layer, r.cfg.n_head, (long long)r.cfg.n_embd,
               (long long)cg_params_numel(cg_gpt_params(r.m)), (long long)o->batch,
               (long long)o->block, r.val_ok ? "" : "; too few tokens for a val loss");
        if (r.step0) printf("gpt2 train: resuming %s at step %lld\n", o->out, (long long)r.step0);
        catch_signals();
        double t0 = now_s();
        rc = train_loop(o, &r, &c);
        if (rc == 0) rc = save_all(o, &r, r.step0 + c.n);
        if (rc == 0 && c.n > 0 && write_svg(r.svg, &c, r.step0) < 0) rc = -1;
        if (rc == 0)
            printf("gpt2 train: %.1f s; model %s, loss curve %s\n", now_s() - t0, o->out, r.svg);
        if (rc == 0 && stop_signal)
            printf("gpt2 train: stopped by signal %d after step %lld; --resume continues\n",
                   (int)stop_signal, (long long)(r.step0 + c.n));
        else if (rc == 0)
            sample_after(o, &r, bpe);
    }
    free(c.train);
    free(c.val);
    free(c.val_at);
    cg_bpe_free(bpe);
    run_free(&r);
    return rc;
}
