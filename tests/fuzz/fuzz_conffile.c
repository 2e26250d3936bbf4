/* Fuzzes lb_conf_parse, the INI configuration file
 * (/etc/lifeboat/lifeboat.conf), whose jobs cron runs as root.
 *
 * Invariants: a rejected file leaves nothing behind and says where
 * ("fuzz.conf:LINE: ..." or the size); an accepted one has only valid job
 * names, each found under its own name, values inside their documented
 * ranges (-1 when unset), and list items that are non-empty strings. */
#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "lifeboat/config.h"
#include "lifeboat/error.h"
#include "fuzz.h"

static void check_list(const struct lb_conf_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		FUZZ_ASSERT(l->v[i] && l->v[i][0]);
}

static void check_job(const struct lb_conf *c, const struct lb_conf_job *j)
{
	if (j->name) {
		size_t n = strlen(j->name);

		FUZZ_ASSERT(n >= 1 && n <= LB_CONF_NAME_MAX && j->name[0] != '.' && j->name[0] != '-');
		for (size_t i = 0; i < n; i++)
			FUZZ_ASSERT(isalnum((unsigned char)j->name[i]) || strchr("_.-", j->name[i]));
		FUZZ_ASSERT(lb_conf_find_job(c, j->name) == j);
	}
	FUZZ_ASSERT(j->one_file_system >= -1 && j->one_file_system <= 1);
	FUZZ_ASSERT(j->mysql >= -1 && j->mysql <= 1);
	FUZZ_ASSERT(j->mysql_mode >= -1 && j->mysql_mode <= 1);
	FUZZ_ASSERT(j->mysql_myisam_unlocked >= -1 && j->mysql_myisam_unlocked <= 1);
	FUZZ_ASSERT(j->workers == -1 || (j->workers >= 1 && j->workers <= 64));
	FUZZ_ASSERT(j->mysql_jobs == -1 || (j->mysql_jobs >= 1 && j->mysql_jobs <= 64));
	FUZZ_ASSERT(j->mysql_lock_timeout_s == -1 || (j->mysql_lock_timeout_s >= 1 && j->mysql_lock_timeout_s <= 3600));
	FUZZ_ASSERT(j->mail_lock_timeout_s == -1 || (j->mail_lock_timeout_s >= 1 && j->mail_lock_timeout_s <= 3600));
	FUZZ_ASSERT(j->timeout_s >= -1 && j->stall_s >= -1 && j->hook_timeout_s >= -1);
	FUZZ_ASSERT(j->timeout_s <= 366L * 86400 && j->hook_timeout_s <= 366L * 86400);
	FUZZ_ASSERT(j->notify_stale_days == -1 || (j->notify_stale_days >= 1 && j->notify_stale_days <= 3650));
	FUZZ_ASSERT(j->keep.last >= -1 && j->keep.daily >= -1 && j->keep.yearly >= -1);
	FUZZ_ASSERT(j->keep.within.set ? j->keep.within_s >= 0 : j->keep.within_s == -1);
	check_list(&j->paths);
	check_list(&j->excludes);
	check_list(&j->tags);
	check_list(&j->mysql_databases);
	check_list(&j->mail_spools);
	check_list(&j->pre_hooks);
	check_list(&j->post_hooks);
	check_list(&j->keep.tags);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_conf *c = (struct lb_conf *)1;
	int e = lb_conf_parse("fuzz.conf", (const char *)data, size, &c);

	if (e < 0) {
		FUZZ_ASSERT(c == NULL);
		FUZZ_ASSERT(e == -ENOMEM || !strncmp(lb_errmsg(), "fuzz.conf", 9));
		return 0;
	}
	FUZZ_ASSERT(c != NULL);
	check_job(c, &c->global);
	for (size_t i = 0; i < c->njobs; i++)
		check_job(c, &c->jobs[i]);
	lb_conf_free(c);
	return 0;
}
