// Invented village names in the style of the north China plain (张庄村,
// 后李官屯村 …). Any resemblance to a real village is coincidence.
import type { Random } from './random.js';

const PREFIXES = ['', '', '', '前', '后', '东', '西', '南', '北', '大', '小', '新'] as const;
const SURNAMES = [
  '张', '王', '李', '刘', '陈', '杨', '赵', '黄', '周', '吴', '徐', '孙', '马', '朱', '胡', '郭', '何', '高',
  '林', '罗', '郑', '梁', '谢', '宋', '唐', '许', '韩', '冯', '邓', '曹', '彭', '田', '董', '袁', '潘', '于',
  '蒋', '蔡', '杜', '程', '苏', '魏', '吕', '丁', '任', '姚', '卢', '姜', '崔', '孟', '秦', '尹', '薛', '闫',
  '段', '侯', '史', '贺', '毛', '郝', '邵', '孔', '武', '牛', '耿', '葛', '褚', '岳', '庞', '靳',
] as const;
const SUFFIXES = ['庄', '楼', '屯', '寨', '集', '营', '店', '堂', '洼', '桥', '官屯', '家', '坊', '园', '口', '庙'] as const;

/** Draws a village name such as 后李官屯村. */
export function drawVillageName(random: Random): string {
  return `${random.pick(PREFIXES)}${random.pick(SURNAMES)}${random.pick(SUFFIXES)}村`;
}
