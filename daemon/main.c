/* upmond: parse the command line, load the configuration, and hand over to
 * the mode asked for. Nothing else lives here. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "config.h"
#include "log.h"
#include "once.h"
#include "service.h"

#define EXIT_USAGE  2
#define EXIT_CONFIG 78 /* EX_CONFIG: the unit says RestartPreventExitStatus=78 */

static void usage(FILE *f)
{
    fprintf(f, "Usage: upmond [-c FILE] [--state-dir DIR] [--shard I/N] [-v|-q] [--stats]\n"
               "       upmond --check-config [-v] [-c FILE] [--shard I/N]\n"
               "       upmond --print-schema[=config|watch-list]\n"
               "       upmond --once [--json] [-c FILE]\n"
               "       upmond --version | --help\n"
               "\n"
               "Watches web sites and raises alerts when they fail, redirect or recover.\n"
               "\n"
               "  -c, --config FILE   main configuration file (default " CONFIG_DEFAULT_PATH ")\n"
               "      --state-dir DIR state directory (default $STATE_DIRECTORY, else "
               "/var/lib/upmon)\n"
               "      --check-config  validate the configuration, print a summary or every error\n"
               "                      (with -v, also every key of every target, as JSON)\n"
               "      --shard I/N     probe only the targets shard I of N owns (over the\n"
               "                      configuration's instance.shard); with --check-config,\n"
               "                      list them\n"
               "      --print-schema[=config|watch-list]\n"
               "                      print the JSON Schema of the main file or of a watch list\n"
               "      --once          probe every target once, print the results and exit\n"
               "                      (exit 0 all up, 1 warning, 2 critical, 3 unknown)\n"
               "      --json          with --once: one JSON object per target per line\n"
               "      --stats         print probe statistics as JSON on stdout at exit\n"
               "  -v, --verbose       log every probe (debug level)\n"
               "  -q, --quiet         log warnings and errors only\n"
               "  -V, --version       print the version\n"
               "  -h, --help          print this help\n"
               "\n"
               "Exit status: 0 success, 2 usage error, 78 configuration error.\n");
}

static int print_schema(const char *kind)
{
    bool watch_list = kind && strcmp(kind, "watch-list") == 0;

    if (kind && !watch_list && strcmp(kind, "config") != 0) {
        fprintf(stderr, "upmond: --print-schema takes config or watch-list, not \"%s\"\n", kind);
        return EXIT_USAGE;
    }
    json_t *schema = config_json_schema(watch_list);
    int rc = json_dumpf(schema, stdout, JSON_INDENT(2)) == 0 && putchar('\n') != EOF ? 0 : 1;
    json_decref(schema);
    return rc;
}

/* Each probe holds a socket; let the configured concurrency have them. */
static void raise_fd_limit(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

int main(int argc, char **argv)
{
    enum { OPT_STATE_DIR = 256, OPT_CHECK, OPT_ONCE, OPT_JSON, OPT_STATS, OPT_SCHEMA, OPT_SHARD };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"state-dir", required_argument, NULL, OPT_STATE_DIR},
        {"check-config", no_argument, NULL, OPT_CHECK},
        {"once", no_argument, NULL, OPT_ONCE},
        {"json", no_argument, NULL, OPT_JSON},
        {"stats", no_argument, NULL, OPT_STATS},
        {"print-schema", optional_argument, NULL, OPT_SCHEMA},
        {"shard", required_argument, NULL, OPT_SHARD},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct service_opts opts = {.config_path = CONFIG_DEFAULT_PATH};
    bool check = false, once = false, json = false;
    int level = LOG_INFO, ch;

    while ((ch = getopt_long(argc, argv, "c:vqVh", longopts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            opts.config_path = optarg;
            break;
        case OPT_STATE_DIR:
            opts.state_dir = optarg;
            break;
        case OPT_CHECK:
            check = true;
            break;
        case OPT_ONCE:
            once = true;
            break;
        case OPT_JSON:
            json = true;
            break;
        case OPT_STATS:
            opts.stats = true;
            break;
        case OPT_SCHEMA:
            return print_schema(optarg);
        case OPT_SHARD:
            if (shard_parse(optarg, &opts.env.shard) < 0) {
                fprintf(stderr, "upmond: --shard \"%s\" must be I/N, 1 <= I <= N <= %d\n", optarg,
                        SHARD_MAX);
                return EXIT_USAGE;
            }
            break;
        case 'v':
            level = LOG_DEBUG;
            break;
        case 'q':
            level = LOG_WARNING;
            break;
        case 'V':
            printf("upmond %s\n%s\n", UPMON_VERSION, curl_version());
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "upmond: unexpected argument \"%s\"\n", argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (check && once) {
        fprintf(stderr, "upmond: --check-config and --once exclude each other\n");
        return EXIT_USAGE;
    }
    if (json && !once) {
        fprintf(stderr, "upmond: --json goes with --once\n");
        return EXIT_USAGE;
    }

    if (!check && !once)
        service_hold_signals(true);
    log_init();
    log_set_level(level);
    signal(SIGPIPE, SIG_IGN);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "upmond: cannot initialise libcurl\n");
        return 1;
    }
    opts.env.credentials_dir = getenv("CREDENTIALS_DIRECTORY");
    if (opts.state_dir == NULL)
        opts.state_dir = getenv("STATE_DIRECTORY");
    if (opts.state_dir == NULL)
        opts.state_dir = "/var/lib/upmon";

    struct diags diags = {0};
    struct config *cfg = config_load(opts.config_path, &opts.env, &diags);
    if (cfg == NULL) {
        for (size_t i = 0; i < diags.n; i++)
            fprintf(stderr, "%s\n", diags.msgs[i]);
        fprintf(stderr, "upmond: %zu error%s in the configuration\n", diags.n,
                diags.n == 1 ? "" : "s");
        diags_free(&diags);
        curl_global_cleanup();
        return EXIT_CONFIG;
    }
    diags_free(&diags);

    int status;
    if (check) {
        char summary[256];
        config_summary(cfg, summary, sizeof(summary));
        printf("%s: OK: %s\n", opts.config_path, summary);
        if (level == LOG_DEBUG) {
            json_t *values = config_values(cfg);
            json_dumpf(values, stdout, JSON_INDENT(2));
            putchar('\n');
            json_decref(values);
        } else if (cfg->shard.count) {
            /* What this shard owns, one name a line, for scripts. */
            for (size_t i = 0; i < cfg->ntargets; i++)
                printf("%s\n", cfg->targets[i].name);
        }
        config_free(cfg);
        status = 0;
    } else if (once) {
        raise_fd_limit();
        status = once_run(cfg, json);
        config_free(cfg);
    } else {
        raise_fd_limit();
        status = service_run(cfg, &opts);
    }
    curl_global_cleanup();
    return status;
}
