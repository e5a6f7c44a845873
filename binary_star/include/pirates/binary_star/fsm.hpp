#pragma once
// The former name of server_core.hpp (ServerCore, formerly Fsm), kept so that user code keeps compiling.
#include <pirates/binary_star/server_core.hpp>
