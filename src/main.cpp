#include "cli/cli.h"

int main(int argc, char** argv) {
    return rollsafe::cli::run(argc, argv);
}
