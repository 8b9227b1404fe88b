// Every normlab command, in the order `normlab --help` lists them.
import type { Command } from '../command.js';
import { infoCommand } from './info.js';
import { gradcheckCommand } from './gradcheck.js';
import { downloadCommand } from './download.js';

export const commands: Command[] = [infoCommand, gradcheckCommand, downloadCommand];
