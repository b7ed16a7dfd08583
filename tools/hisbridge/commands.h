// The `hisbridge` subcommands. Each takes argv starting at its own name and
// returns the process exit code: 0 success, 1 failure, 2 bad usage.
#ifndef HISBRIDGE_TOOLS_HISBRIDGE_COMMANDS_H_
#define HISBRIDGE_TOOLS_HISBRIDGE_COMMANDS_H_

namespace hisbridge::cli {

int ServeCommand(int argc, char** argv);
int DevBrokerCommand(int argc, char** argv);
int DemoCommand(int argc, char** argv);
int LinkCommand(int argc, char** argv);
int TrainCommand(int argc, char** argv);
int LoadCommand(int argc, char** argv);
int ConnectorCommand(int argc, char** argv);
int GenCommand(int argc, char** argv);
int EvalCommand(int argc, char** argv);
int CertsCommand(int argc, char** argv);
int RekeyCommand(int argc, char** argv);
int ExportCommand(int argc, char** argv);
int RebuildCommand(int argc, char** argv);
int BackupCommand(int argc, char** argv);
int ReportCommand(int argc, char** argv);
int HistoryCommand(int argc, char** argv);

}  // namespace hisbridge::cli

#endif  // HISBRIDGE_TOOLS_HISBRIDGE_COMMANDS_H_
